"""PostgreSQL adapters: psycopg for questions, pg_dump and pg_dumpall for dumps."""
