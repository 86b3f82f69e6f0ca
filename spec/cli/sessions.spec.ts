import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import sqlite3 from "sqlite3";
import type { Application } from "stoat";
import request from "supertest";
import { SECRET } from "../support/app.js";
import { bin, commandEnv, lines, repoRoot, runStoat } from "../support/cli.js";
import { useBinary } from "../support/services.js";

// `stoat sessions:*`, run for real (node bin/stoat.js) inside a temporary project whose
// config/application.ts uses the `database` store on SQLite. Rows are seeded straight into the table; a
// user's sessions are made over HTTP by the same config/application.ts, loaded in this process.

const execFileP = promisify(execFile);

/** `stoat ...args` in `cwd` (default: the repository), never throwing for a non-zero exit. */
const stoat = (args: string[], cwd?: string) => runStoat(args, { cwd });

const APPLICATION_TS = (dbFile: string, store: string) => `
import { Application, Handler } from "stoat";

class Account extends Handler {
  static csrf = false; // the spec signs in with bare POSTs, as an API client would

  async signIn() {
    this.session.set("user_id", this.params.user!);
    this.json({ id: this.session.id ?? null });
  }
  async whoami() {
    this.json({ user: this.session.get("user_id") ?? null });
  }
}

export default Application.configure((config) => {
  config.root = ${JSON.stringify(dirname(dirname(dbFile)))};
  config.routes = (r) => {
    r.post("/sign_in/:user", Account, "signIn");
    r.get("/whoami", Account, "whoami");
  };
  config.session.store = ${JSON.stringify(store)};
  config.session.options = {
    secret: process.env.SECRET_KEY_BASE,
    ${store === "database" ? `url: ${JSON.stringify(`sqlite://${dbFile}`)},` : ""}
  };
});
`;

/** A project directory with config/application.ts and `stoat` resolvable from it (a symlink to this repo). */
function makeProject(store: string): { dir: string; dbFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "stoat-sessions-cli-"));
  const dbFile = join(dir, "db", "sessions.sqlite3");
  // Its own package.json, as a real project has: `stoat` then resolves through node_modules only.
  writeFileSync(
    join(dir, "package.json"),
    '{ "name": "sessions-cli-spec", "private": true, "type": "module" }\n',
  );
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(repoRoot, join(dir, "node_modules", "stoat"), "dir");
  // tsx, as a project has it, so the command can load its TypeScript config/application.ts.
  symlinkSync(join(repoRoot, "node_modules", "tsx"), join(dir, "node_modules", "tsx"), "dir");
  mkdirSync(join(dir, "config"));
  mkdirSync(join(dir, "db"));
  writeFileSync(join(dir, "config", "application.ts"), APPLICATION_TS(dbFile, store));
  return { dir, dbFile };
}

/** Runs SQL statements on the SQLite file with the sqlite3 driver, outside the app; returns the last one's rows. */
async function sql(file: string, ...statements: [string, unknown[]?][]): Promise<Record<string, unknown>[]> {
  const db = await new Promise<sqlite3.Database>((ok, fail) => {
    const opened: sqlite3.Database = new sqlite3.Database(file, (err) => (err ? fail(err) : ok(opened)));
  });
  try {
    let rows: Record<string, unknown>[] = [];
    for (const [text, params = []] of statements) {
      rows = await new Promise((ok, fail) =>
        db.all(text, params, (err, result) => (err ? fail(err) : ok(result as Record<string, unknown>[]))),
      );
    }
    return rows;
  } finally {
    await new Promise<void>((ok, fail) => db.close((err) => (err ? fail(err) : ok())));
  }
}

async function countRows(file: string, where = "1 = 1"): Promise<number> {
  const [row] = await sql(file, [`SELECT COUNT(*) AS n FROM sessions WHERE ${where}`]);
  return Number(row!.n);
}

const EXPIRED = 100_000;
const LIVE = 25;

describe("stoat sessions:* (CLI, database store on SQLite)", function () {
  this.timeout(60000);

  let project: { dir: string; dbFile: string };
  before(() => {
    project = makeProject("database");
  });
  after(() => rmSync(project.dir, { recursive: true, force: true }));

  describe("sessions:install", () => {
    it("creates the table and its indexes, and says what it did", async () => {
      expect(existsSync(project.dbFile)).to.equal(false);
      const r = await stoat(["sessions:install"], project.dir);
      expect(r.stderr).to.equal("");
      expect(r.code).to.equal(0);
      const out = lines(r.stdout);
      expect(out[0]).to.match(/^created table sessions\b/);
      expect(out.filter((line) => /^created index \S+ on (user_id|expires_at)$/.test(line))).to.have.length(
        2,
      );
      const tables = await sql(project.dbFile, [
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sessions'",
      ]);
      expect(tables).to.have.length(1);
      const indexed = await sql(project.dbFile, ["SELECT name FROM pragma_index_list('sessions')"]);
      const columns = new Set<string>();
      for (const { name } of indexed) {
        for (const c of await sql(project.dbFile, [`SELECT name FROM pragma_index_info('${name}')`]))
          columns.add(String(c.name));
      }
      expect([...columns]).to.include.members(["session_id", "user_id", "expires_at"]);
    });

    it("is idempotent: a second run changes nothing, succeeds and says so", async () => {
      const schema = async () =>
        (await sql(project.dbFile, ["SELECT type, name, sql FROM sqlite_master ORDER BY name"])).map((row) =>
          JSON.stringify(row),
        );
      const before = await schema();
      const first = await stoat(["sessions:install"], project.dir);
      const second = await stoat(["sessions:install"], project.dir);
      for (const r of [first, second]) {
        expect(r.stderr).to.equal("");
        expect(r.code).to.equal(0);
        expect(lines(r.stdout).length).to.be.above(0);
      }
      expect(second.stdout).to.equal(first.stdout);
      // Everything found, nothing created: the table, the unique session_id index and the two others.
      expect(lines(first.stdout)).to.have.length(4);
      for (const line of lines(first.stdout)) expect(line).to.match(/^found (table|unique index|index) /);
      expect(await schema()).to.deep.equal(before);
    });
  });

  describe("sessions:expire", () => {
    const now = Date.now();
    before(async () => {
      await sql(project.dbFile, ["DELETE FROM sessions"]);
      await seed(project.dbFile, { count: EXPIRED, expiresAt: now - 3600_000, prefix: "e" });
      await seed(project.dbFile, { count: LIVE, expiresAt: now + 86400_000, prefix: "a" });
      expect(await countRows(project.dbFile)).to.equal(EXPIRED + LIVE);
    });

    it("--dry-run counts the expired rows and deletes nothing", async () => {
      const r = await stoat(["sessions:expire", "--dry-run"], project.dir);
      expect(r.stderr).to.equal("");
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal(`Would delete ${EXPIRED} expired sessions (dry run)\n`);
      expect(await countRows(project.dbFile)).to.equal(EXPIRED + LIVE);
    });

    it(`deletes ${EXPIRED} expired rows in batches, leaves the live ones, and prints only the count when stdout is not a TTY`, async () => {
      const live = await sql(project.dbFile, [
        `SELECT * FROM sessions WHERE session_id LIKE '2::a%' ORDER BY session_id`,
      ]);
      const r = await stoat(["sessions:expire"], project.dir); // batches of 1000
      expect(r.stderr).to.equal("");
      expect(r.code).to.equal(0);
      // No bar, no carriage returns or escape codes in a pipe: the one final line.
      expect(r.stdout).to.equal(`Deleted ${EXPIRED} expired sessions\n`);
      expect(await countRows(project.dbFile)).to.equal(LIVE);
      expect(
        await sql(project.dbFile, [
          `SELECT * FROM sessions WHERE session_id LIKE '2::a%' ORDER BY session_id`,
        ]),
      ).to.deep.equal(live);
    });

    it("finds nothing to delete the second time", async () => {
      const r = await stoat(["sessions:expire"], project.dir);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal("Deleted 0 expired sessions\n");
      expect(await countRows(project.dbFile)).to.equal(LIVE);
    });

    it("draws a progress bar on a terminal, then the count", async function () {
      useBinary(this, "script"); // util-linux `script` gives the command a pseudo-terminal
      await seed(project.dbFile, { count: 3000, expiresAt: now - 1000, prefix: "b" });
      const command = [process.execPath, bin, "sessions:expire", "--batch-size", "100"]
        .map((arg) => `'${arg.replaceAll("'", "'\\''")}'`)
        .join(" ");
      const { stdout } = await execFileP("/usr/bin/script", ["-qec", command, "/dev/null"], {
        cwd: project.dir,
        env: commandEnv(),
        timeout: 50000,
      });
      expect(stdout).to.match(/Deleting expired sessions \|.*\| \d+% \d+\/3000/);
      expect(stdout).to.match(/\| 100% 3000\/3000/);
      // The bar is cleared, then the same final line as in a pipe.
      expect(stdout.trimEnd().endsWith("\u001b[2KDeleted 3000 expired sessions")).to.equal(true, stdout);
      expect(await countRows(project.dbFile)).to.equal(LIVE);
    });
  });

  describe("sessions:list and sessions:revoke", () => {
    let app: Application;
    const cookies: string[] = [];

    before(async () => {
      // The project's own config/application.ts, in this process, over the same SQLite file.
      const saved = process.env.SECRET_KEY_BASE;
      process.env.SECRET_KEY_BASE = SECRET;
      try {
        const url = pathToFileURL(join(project.dir, "config", "application.ts")).href;
        app = ((await import(url)) as { default: Application }).default;
      } finally {
        if (saved === undefined) delete process.env.SECRET_KEY_BASE;
        else process.env.SECRET_KEY_BASE = saved;
      }
      for (const user of ["42", "42", "7"]) {
        const res = await request(app.callback()).post(`/sign_in/${user}`).expect(200);
        const cookie = (res.headers["set-cookie"] as unknown as string[])[0]!.split(";")[0]!;
        cookies.push(cookie);
      }
    });
    after(() => app?.close());

    it("lists a user's two sessions as a table, shortened hashed ids, newest activity first", async () => {
      const r = await stoat(["sessions:list", "--user", "42"], project.dir);
      expect(r.stderr).to.equal("");
      expect(r.code).to.equal(0);
      const [header, ...rest] = lines(r.stdout);
      expect(header!.split(/\s{2,}/)).to.deep.equal(["Session", "Created", "Last active", "Expires"]);
      const rows = rest.slice(0, -1);
      expect(rest.at(-1)).to.equal("2 sessions for user 42");
      expect(rows).to.have.length(2);
      const lastActive = rows.map((row) => row.split(/\s{2,}/)[2]!);
      expect(lastActive).to.deep.equal([...lastActive].sort().reverse());
      const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/;
      const hashed = new Set(
        (await sql(project.dbFile, ["SELECT session_id FROM sessions WHERE user_id = '42'"])).map((row) =>
          String(row.session_id),
        ),
      );
      expect(hashed.size).to.equal(2);
      for (const row of rows) {
        const [sid, created, active, expires] = row.split(/\s{2,}/);
        expect(sid).to.match(/^2::[0-9a-f]{12}$/);
        expect([...hashed].some((full) => full.startsWith(sid!))).to.equal(true, sid);
        for (const t of [created, active, expires]) expect(t).to.match(stamp);
        expect(Date.parse(expires!.replace(" ", "T"))).to.be.above(Date.now());
      }
      // The public ids in the cookies never appear.
      for (const cookie of cookies) expect(r.stdout).not.to.include(cookie.split("=")[1]!.slice(0, 12));
    });

    it("says so for a user with no sessions", async () => {
      const r = await stoat(["sessions:list", "--user", "nobody"], project.dir);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal("No sessions for user nobody\n");
    });

    it("revokes every session of the user and prints the count; the others keep theirs", async () => {
      const r = await stoat(["sessions:revoke", "--user", "42"], project.dir);
      expect(r.stderr).to.equal("");
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal("Revoked 2 sessions for user 42\n");
      for (const [i, cookie] of cookies.entries()) {
        const res = await request(app.callback()).get("/whoami").set("Cookie", cookie).expect(200);
        expect(res.body).to.deep.equal({ user: i < 2 ? null : "7" });
      }
      const again = await stoat(["sessions:revoke", "--user", "42"], project.dir);
      expect(again.code).to.equal(0);
      expect(again.stdout).to.equal("Revoked 0 sessions for user 42\n");
      const list = await stoat(["sessions:list", "--user", "42"], project.dir);
      expect(list.stdout).to.equal("No sessions for user 42\n");
    });
  });

  describe("usage errors: exit 2, one line, nothing on stdout", () => {
    const cases: [string, string[], RegExp][] = [
      ["list without --user", ["sessions:list"], /--user/],
      ["revoke without --user", ["sessions:revoke"], /--user/],
      ["--user without a value", ["sessions:revoke", "--user"], /--user/],
      ["an empty --user", ["sessions:list", "--user="], /--user/],
      ["an unknown flag", ["sessions:expire", "--force"], /--force/],
      ["a bad --batch-size", ["sessions:expire", "--batch-size", "lots"], /--batch-size.*lots/],
      ["a zero --batch-size", ["sessions:expire", "--batch-size", "0"], /--batch-size/],
      ["a stray argument", ["sessions:install", "now"], /now/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const r = await stoat(args, project.dir);
        expect(r.code).to.equal(2);
        expect(r.stdout).to.equal("");
        const err = lines(r.stderr);
        expect(err).to.have.length(1);
        expect(err[0]).to.match(new RegExp(`^stoat ${args[0]}: `));
        expect(err[0]).to.match(message);
      });
    }
  });

  describe("an app whose store is not `database`", () => {
    let cookieProject: { dir: string };
    before(() => {
      cookieProject = makeProject("cookie");
    });
    after(() => rmSync(cookieProject.dir, { recursive: true, force: true }));

    for (const args of [
      ["sessions:install"],
      ["sessions:expire"],
      ["sessions:list", "--user", "1"],
      ["sessions:revoke", "--user", "1"],
    ]) {
      it(`${args[0]} exits 1 with a one-line error naming the database store`, async () => {
        const r = await stoat(args, cookieProject.dir);
        expect(r.code).to.equal(1);
        expect(r.stdout).to.equal("");
        const err = lines(r.stderr);
        expect(err).to.have.length(1);
        expect(err[0]).to.match(new RegExp(`^stoat ${args[0]}: .*"database"`));
      });
    }
  });

  it("help lists the four sessions commands", async () => {
    const r = await stoat(["help"], project.dir);
    const commands = lines(r.stdout)
      .slice(1)
      .map((line) => line.trim().split(/\s+/)[0]);
    expect(commands).to.include.members([
      "sessions:install",
      "sessions:expire",
      "sessions:list",
      "sessions:revoke",
    ]);
  });
});

/** The store's time format on SQLite (schema.ts, connection.ts toTime): UTC text that sorts as it compares. */
const sqliteTime = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

/**
 * Inserts `count` rows in one statement, shaped like the rows the store writes: a hashed id (`2::` + 64
 * hex, starting with `prefix`), data (not a real sealed record: nothing loads these), no user, timestamps.
 */
async function seed(
  file: string,
  { count, expiresAt, prefix }: { count: number; expiresAt: number; prefix: string },
): Promise<void> {
  const created = sqliteTime(expiresAt - 86400_000);
  await sql(file, [
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO sessions (session_id, data, user_id, created_at, updated_at, expires_at)
     SELECT printf('2::%s%063x', ?, i), 'c2VlZGVk', NULL, ?, ?, ? FROM n`,
    [count, prefix, created, created, sqliteTime(expiresAt)],
  ]);
}
