import { type BackendName, keyvStoreNamed } from "../../session/stores/adapters/index.js";

// What `stoat new --store NAME` puts in a project for each store: the options block of
// config/application.ts, the env vars, the packages, and lines for the README.
//
// Each environment gets its own store data (`config.env` is NODE_ENV; the specs run in "test"), as Rails
// gives each its own database: the specs never read or write development's sessions. `{{prefix}}` is the
// project's name, cut to fit a key namespace; `{{env}}` becomes `${config.env}` in the generated code.

/** The store's adapter package, as its definition names it (one place says which package a store needs). */
function adapterPackage(name: BackendName): string[] {
  const pkg = keyvStoreNamed(name).package;
  return pkg === undefined ? [] : [pkg];
}

export interface StoreChoice {
  /** Lines inside `config.session.options = { ... }`, after the common ones. */
  options: string[];
  /** Extra .env lines (the store's server, which the code also defaults to). */
  env: string[];
  /** Extra .env.example lines, commented out when optional. */
  envExample: string[];
  /** Packages the store needs beyond stoat, at the versions Stoat is tested with (versions.ts). */
  packages: string[];
  /** sqlite3 has an install script (its prebuilt binary, or a compile of SQLite): the project approves it. */
  nativeSqlite?: boolean;
  /** Where the data lives, for the README. */
  note: string;
  /** Set-up commands after `npm install`, each with its comment, for the README and the next steps. */
  setup?: { command: string; why: string }[];
  /** Commands between `npm run build` and `npm start` on a server, for the README. */
  deploy?: { command: string; why: string }[];
  /** A line for the generated spec's set-up, when the store needs one. */
  specSetup?: string;
}

const NAMESPACE = "namespace: `{{prefix}}:{{env}}`, // development, test and production keys apart";

export const STORE_CHOICES: Readonly<Record<string, StoreChoice>> = {
  cookie: {
    options: [],
    env: [],
    envExample: [],
    packages: [],
    note: "Sessions live in a sealed cookie: no server, nothing shared between environments.",
  },
  memory: {
    options: [],
    env: [],
    envExample: [],
    packages: [],
    note: "Sessions live in the process's memory: gone on restart, for development and trials.",
  },
  redis: {
    options: ['url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",', NAMESPACE],
    env: ["REDIS_URL=redis://127.0.0.1:6379"],
    envExample: ["REDIS_URL=redis://127.0.0.1:6379"],
    packages: adapterPackage("redis"),
    note: "Needs a Redis server (`REDIS_URL`); each environment's keys have their own prefix (`{{prefix}}:test:` for the specs).",
  },
  memcache: {
    options: ['memcacheServer: process.env.MEMCACHE_SERVER ?? "localhost:11211",', NAMESPACE],
    env: ["MEMCACHE_SERVER=localhost:11211"],
    envExample: ["MEMCACHE_SERVER=localhost:11211"],
    packages: adapterPackage("memcache"),
    note: "Needs a memcached server (`MEMCACHE_SERVER`); each environment's keys have their own prefix (`{{prefix}}:test:` for the specs).",
  },
  sqlite: {
    options: ["database: `db/{{env}}.sqlite3`, // db/development.sqlite3; the specs use db/test.sqlite3"],
    env: [],
    envExample: [],
    packages: adapterPackage("sqlite"),
    nativeSqlite: true,
    note: "Sessions live in `db/development.sqlite3` (the specs use `db/test.sqlite3`, production `db/production.sqlite3`).",
  },
  postgres: {
    options: ['url: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",', NAMESPACE],
    env: ["DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"],
    envExample: ["DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"],
    packages: adapterPackage("postgres"),
    note: "Needs a PostgreSQL server (`DATABASE_URL`); each environment's keys have their own prefix (`{{prefix}}:test:` for the specs).",
  },
  mysql: {
    options: ['url: process.env.DATABASE_URL ?? "mysql://root@127.0.0.1:3306/test",', NAMESPACE],
    env: ["DATABASE_URL=mysql://root@127.0.0.1:3306/test"],
    envExample: ["DATABASE_URL=mysql://root@127.0.0.1:3306/test"],
    packages: adapterPackage("mysql"),
    note: "Needs a MySQL or MariaDB server (`DATABASE_URL`); each environment's keys have their own prefix (`{{prefix}}:test:` for the specs).",
  },
  database: {
    options: [
      "// SQLite in db/<environment>.sqlite3 unless DATABASE_URL (TEST_DATABASE_URL for the specs) names a server.",
      'url: (config.env === "test" ? process.env.TEST_DATABASE_URL : process.env.DATABASE_URL) ??',
      "  `sqlite://db/{{env}}.sqlite3`,",
    ],
    env: [],
    envExample: [
      "# Sessions table on a server instead of db/<environment>.sqlite3 (npm install pg, or mysql2):",
      "# DATABASE_URL=postgres://localhost/{{prefix}}_development",
      "# TEST_DATABASE_URL=postgres://localhost/{{prefix}}_test",
    ],
    packages: ["sqlite3"], // knex comes with stoat; the app brings the driver for its database
    nativeSqlite: true,
    note: "Sessions live in a `sessions` table in `db/development.sqlite3` (the specs install theirs in `db/test.sqlite3`).",
    setup: [{ command: "npx stoat sessions:install", why: "creates the sessions table (once per database)" }],
    deploy: [
      {
        command: "NODE_ENV=production npx stoat sessions:install --app dist/config/application.js",
        why: "production's table, once",
      },
    ],
    specSetup: "before(() => app.sessions.install()); // the test database's table, made once",
  },
};
