"""PostgreSQL adapters: psycopg, pg_dump, pg_dumpall, pg_restore and psql.

psycopg answers questions (database.py) and inspects restore targets; pg_dump and pg_dumpall
stream dumps (dumper.py); pg_restore and psql restore (restorer.py) and read archives
(archive_reader.py). `tools.client_tools` chooses those tools for a server, for every job.
"""
