// What `stoat new --store NAME` puts in a project for each store: the options block of
// config/application.ts, the env vars, the adapter packages, and a line for the README.

export interface StoreChoice {
  /** Lines inside `config.session.options = { ... }`, after the common ones. */
  options: string[];
  /** Extra .env / .env.example lines. */
  env: string[];
  /** Packages the store needs beyond stoat (versions come from Stoat's own package.json). */
  packages: string[];
  /** sqlite3 builds from source: the project approves its install script and links the system SQLite. */
  nativeSqlite?: boolean;
  /** Shown in the README and as a next step. */
  note?: string;
  /** A line for the generated spec's set-up, when the store needs one. */
  specSetup?: string;
}

export const STORE_CHOICES: Readonly<Record<string, StoreChoice>> = {
  cookie: { options: [], env: [], packages: [] },
  memory: { options: [], env: [], packages: [] },
  redis: {
    options: ['url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",'],
    env: ["REDIS_URL=redis://127.0.0.1:6379"],
    packages: ["@keyv/redis"],
    note: "Needs a Redis server (REDIS_URL).",
  },
  memcache: {
    options: ['memcacheServer: process.env.MEMCACHE_SERVER ?? "localhost:11211",'],
    env: ["MEMCACHE_SERVER=localhost:11211"],
    packages: ["@keyv/memcache"],
    note: "Needs a memcached server (MEMCACHE_SERVER).",
  },
  sqlite: {
    options: ['database: "db/sessions.sqlite3",'],
    env: [],
    packages: ["@keyv/sqlite"],
    nativeSqlite: true,
    note: "Sessions live in db/sessions.sqlite3.",
  },
  postgres: {
    options: ['url: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",'],
    env: ["DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"],
    packages: ["@keyv/postgres"],
    note: "Needs a PostgreSQL server (DATABASE_URL).",
  },
  mysql: {
    options: ['url: process.env.DATABASE_URL ?? "mysql://root@127.0.0.1:3306/test",'],
    env: ["DATABASE_URL=mysql://root@127.0.0.1:3306/test"],
    packages: ["@keyv/mysql"],
    note: "Needs a MySQL or MariaDB server (DATABASE_URL).",
  },
  database: {
    options: ['url: process.env.DATABASE_URL ?? "sqlite://db/sessions.sqlite3",'],
    env: ["DATABASE_URL=sqlite://db/sessions.sqlite3"],
    packages: ["sqlite3"], // knex comes with stoat; the app brings the driver for its database
    nativeSqlite: true,
    note: "Create the sessions table once with `npx stoat sessions:install`.",
    specSetup: "before(() => app.sessions.install());",
  },
};
