-- Run once by the postgres image on an empty volume (docker-compose.yml): the MLflow backend
-- and the privacy ledger beside Dagster's database (POSTGRES_DB=dagster), owned by the same user.
CREATE DATABASE mlflow;
-- The privacy ledger of every data set (DPFORECAST_LEDGER): its own database, same owner.
CREATE DATABASE dpforecast_ledger;
