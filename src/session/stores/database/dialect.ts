// The SQL dialects the `database` store speaks, named by the URL's scheme. Its own file so that the
// connection and the reading of SQL failures (sql_errors.ts) both name it without importing each other.

export type Dialect = "sqlite" | "postgres" | "mysql";
