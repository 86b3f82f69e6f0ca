import { resolve } from "node:path";
import { expect } from "chai";
import { ConfigError } from "stoat";
import { parseDatabaseUrl } from "../../../../src/session/stores/database/connection.js";
import { tableLayout } from "../../../../src/session/stores/database/table.js";
import { testApp } from "../../../support/app.js";

// The `database` store's options, checked at boot like every other store's.

function bootError(options: Record<string, unknown>): Error | undefined {
  try {
    testApp({ store: "database", options });
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

describe("database store options", () => {
  it("refuses unknown options and bad values at boot, naming the option and what is allowed", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ namespace: "x" }, /namespace is not an option/],
      [{ url: "redis://localhost" }, /url must be a URL starting with sqlite:\/\/, postgres:\/\//],
      [{ table: "sessions; drop table users" }, /table must be a name of letters, digits and _/],
      [{ primaryKey: true }, /primaryKey must be .* or false for a table keyed by the session id column/],
      [{ sessionIdColumn: "1id" }, /sessionIdColumn must be a name/],
      [{ dataColumn: "" }, /dataColumn must be a name/],
      [{ maxDataBytes: 10 }, /maxDataBytes must be a whole number from 64 to 16777215/],
      [{ sessionClass: {} }, /sessionClass must be a class with a static findBySessionId/],
      [{ sessionClass: class {} }, /sessionClass must be a class with a static findBySessionId/],
      [{ userKey: "__stoat" }, /userKey must be a session key/],
      [{ user_key: "id" }, /did you mean userKey\?/],
      [{ timeout: 0 }, /timeout must be a number of seconds above 0/],
    ];
    for (const [options, message] of cases) {
      const error = bootError(options);
      expect(error, JSON.stringify(options)).to.be.instanceOf(ConfigError);
      expect(error!.message).to.match(message);
    }
  });

  it("refuses column names that collide", () => {
    expect(() => tableLayout({ sessionIdColumn: "data" })).to.throw(ConfigError, /"data" is used twice/);
    expect(() => tableLayout({ primaryKey: "user_id" })).to.throw(ConfigError, /"user_id" is used twice/);
    expect(tableLayout({ primaryKey: "session_id" }).numericKey).to.equal(false);
    expect(tableLayout({ primaryKey: false, sessionIdColumn: "sid" })).to.include({
      primaryKey: "sid",
      numericKey: false,
    });
  });

  it("reads sqlite (relative, absolute, in memory), postgres, mysql and mariadb URLs", () => {
    expect(parseDatabaseUrl("sqlite://db/sessions.sqlite3")).to.deep.equal({
      dialect: "sqlite",
      target: resolve("db/sessions.sqlite3"),
    });
    expect(parseDatabaseUrl("sqlite:///var/x.db").target).to.equal("/var/x.db");
    expect(parseDatabaseUrl("sqlite://:memory:").target).to.equal(":memory:");
    expect(parseDatabaseUrl("postgresql://u@h/db").dialect).to.equal("postgres");
    expect(parseDatabaseUrl("mariadb://u@h/db")).to.deep.equal({
      dialect: "mysql",
      target: "mysql://u@h/db",
    });
    expect(() => parseDatabaseUrl("mongodb://u:secret@h/db"))
      .to.throw(ConfigError)
      .with.property("message")
      .that.does.not.include("secret");
  });

  it("works on an in-memory SQLite database too (one connection, kept open)", async () => {
    const app = testApp({ store: "database", options: { url: "sqlite://:memory:" } });
    try {
      expect((await app.sessions.install())[0]).to.match(/^created table sessions \(sqlite\)/);
      expect(await app.sessions.listForUser("1")).to.deep.equal([]);
    } finally {
      await app.close();
    }
  });
});
