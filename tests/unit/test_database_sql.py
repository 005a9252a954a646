"""Rewriting an archive's database-level SQL for another name (adapters/postgres/database_sql)."""

import pytest

from adapters.postgres.database_sql import SqlLexError, database_properties, lex, quote_ident
from ports.restorer import PropertyKind

PG_RESTORE_CREATE = r"""--
-- PostgreSQL database dump
--

\restrict KDUgVTdLoNKrgG11Gjio

SET statement_timeout = 0;
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: src; Type: DATABASE; Schema: -; Owner: alice
--

CREATE DATABASE src WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C';


ALTER DATABASE src OWNER TO alice;

\unrestrict KDUgVTdLoNKrgG11Gjio
\connect src
\restrict KDUgVTdLoNKrgG11Gjio

COMMENT ON DATABASE src IS 'the ''src'' db; ALTER DATABASE src SET x TO 1;
-- not a comment';

ALTER DATABASE src CONNECTION LIMIT = 50;
ALTER DATABASE src SET search_path TO 'public', '$user';
ALTER ROLE bob IN DATABASE src SET work_mem TO '8MB';
SET SESSION AUTHORIZATION carol;
GRANT CONNECT ON DATABASE src TO bob;
RESET SESSION AUTHORIZATION;
REVOKE CONNECT,TEMPORARY ON DATABASE src FROM PUBLIC;
SECURITY LABEL FOR selinux ON DATABASE src IS 'system_u:object_r:sepgsql_db_t:s0';
"""


def test_every_statement_is_rewritten_at_the_database_name_only():
    props = database_properties(PG_RESTORE_CREATE, 'new "db"')
    name = '"new ""db"""'
    assert props.source == "src"
    assert props.create == (
        f"CREATE DATABASE {name} WITH TEMPLATE = template0 ENCODING = 'UTF8' "
        "LOCALE_PROVIDER = libc LOCALE = 'C'"
    )
    assert [(s.kind, s.sql) for s in props.statements] == [
        (PropertyKind.OWNER, f"ALTER DATABASE {name} OWNER TO alice"),
        (
            PropertyKind.COMMENT,
            f"COMMENT ON DATABASE {name} IS 'the ''src'' db; ALTER DATABASE src SET x TO 1;\n"
            "-- not a comment'",
        ),
        (PropertyKind.SETTING, f"ALTER DATABASE {name} CONNECTION LIMIT = 50"),
        (PropertyKind.SETTING, f"ALTER DATABASE {name} SET search_path TO 'public', '$user'"),
        (PropertyKind.ROLE_SETTING, f"ALTER ROLE bob IN DATABASE {name} SET work_mem TO '8MB'"),
        (PropertyKind.PRIVILEGE, "SET SESSION AUTHORIZATION carol"),
        (PropertyKind.PRIVILEGE, f"GRANT CONNECT ON DATABASE {name} TO bob"),
        (PropertyKind.PRIVILEGE, "RESET SESSION AUTHORIZATION"),
        (PropertyKind.PRIVILEGE, f"REVOKE CONNECT,TEMPORARY ON DATABASE {name} FROM PUBLIC"),
        (
            PropertyKind.SECURITY_LABEL,
            f"SECURITY LABEL FOR selinux ON DATABASE {name} IS 'system_u:object_r:sepgsql_db_t:s0'",
        ),
    ]
    assert props.unknown == ()


@pytest.mark.parametrize(
    ("quoted", "name"),
    [
        ('"Sales DB"', "Sales DB"),
        ('"select"', "select"),
        ('"with ""quotes"""', 'with "quotes"'),
        ("données", "données"),
        ("MixedCase", "mixedcase"),
    ],
)
def test_the_source_name_is_found_however_pg_dump_quoted_it(quoted, name):
    text = (
        f"CREATE DATABASE {quoted} WITH TEMPLATE = template0;\nCOMMENT ON DATABASE {quoted} IS 'x';"
    )
    props = database_properties(text, "t")
    assert props.source == name
    assert props.statements[0].sql == "COMMENT ON DATABASE \"t\" IS 'x'"


def test_statements_of_another_database_or_shape_are_unknown_and_never_rewritten():
    text = (
        "CREATE DATABASE src;\n"
        "COMMENT ON DATABASE other IS 'x';\n"
        "GRANT CONNECT ON DATABASE src, other TO bob;\n"
        "ALTER SYSTEM SET work_mem = '1MB';\n"
    )
    props = database_properties(text, "t")
    assert props.statements == ()
    assert props.unknown == (
        "COMMENT ON DATABASE other IS 'x'",
        "GRANT CONNECT ON DATABASE src, other TO bob",
        "ALTER SYSTEM SET work_mem = '1MB'",
    )


def test_escape_strings_dollar_quotes_and_block_comments_are_lexed_as_one_token():
    text = "COMMENT ON DATABASE d IS E'it\\'s; \\\\ here' /* a ; comment /* nested */ */;"
    props = database_properties(text + " SELECT $x$ ; $x$;", "t")
    assert props.statements[0].sql == "COMMENT ON DATABASE \"t\" IS E'it\\'s; \\\\ here'"
    assert props.unknown == ("SELECT $x$ ; $x$",)


def test_an_archive_without_database_entries_has_no_properties():
    props = database_properties("SET client_encoding = 'UTF8';\n", "t")
    assert (props.source, props.create, props.statements, props.unknown) == ("", None, (), ())


@pytest.mark.parametrize("text", ["COMMENT ON DATABASE d IS 'open", 'SELECT "open', "/* open"])
def test_a_quote_or_comment_that_does_not_end_is_an_error(text):
    with pytest.raises(SqlLexError):
        lex(text)


def test_quote_ident_always_quotes():
    assert quote_ident('a"b') == '"a""b"'
