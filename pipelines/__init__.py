"""DVC stage entry points: each reads params.yaml and calls one function of dpforecast.stages."""
