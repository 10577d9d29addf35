-- Run once by the postgres image on an empty volume (docker-compose.yml): the MLflow backend
-- beside Dagster's database (POSTGRES_DB=dagster), owned by the same user.
CREATE DATABASE mlflow;
