-- The databases beside the platform's own (POSTGRES_DB=genai): Prefect's and MLflow's.
CREATE DATABASE prefect;
CREATE DATABASE mlflow;
