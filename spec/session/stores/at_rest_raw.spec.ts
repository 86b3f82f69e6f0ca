import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { expect } from "chai";
import mysql from "mysql2/promise";
import sqlite3 from "sqlite3";
import { Handler, type SessionOptions } from "stoat";
import request from "supertest";
import { privateId } from "../../../src/session/ids.js";
import { cookieValue, testApp } from "../../support/app.js";
import { type ServiceName, serviceUrl, useService } from "../../support/services.js";

// Data at rest, read with each service's own client rather than through Stoat: the public id
// appears in no key and no value, the session's data is not there in plaintext, and the key is the hash.

const require = createRequire(import.meta.url);
interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params: unknown[]): Promise<{ rows: { key: string; value: string }[] }>;
  end(): Promise<void>;
}
const { Client: PgClientClass } = require("pg") as {
  Client: new (o: { connectionString: string }) => PgClient;
};

class Writer extends Handler {
  async write() {
    this.session.set("card", this.params.v!);
    this.json({ ok: true });
  }
}

type Row = [key: string, value: string];
const namespace = `raw-${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), "stoat-raw-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface RawCase {
  name: string;
  service?: ServiceName;
  options: SessionOptions;
  /** Every stored row of this spec's namespace, as the service itself returns them. */
  dump(): Promise<Row[]>;
}

const cases: RawCase[] = [
  {
    name: "redis",
    service: "redis",
    options: { url: serviceUrl("redis"), namespace },
    async dump() {
      const client = createClient({ url: serviceUrl("redis") });
      await client.connect();
      try {
        const keys: string[] = [];
        for await (const batch of client.scanIterator({ MATCH: `${namespace}*` })) keys.push(...batch);
        return await Promise.all(keys.map(async (k): Promise<Row> => [k, String(await client.get(k))]));
      } finally {
        client.destroy();
      }
    },
  },
  {
    name: "postgres",
    service: "postgres",
    options: { url: serviceUrl("postgres"), namespace },
    async dump() {
      const client = new PgClientClass({ connectionString: serviceUrl("postgres") });
      await client.connect();
      try {
        const { rows } = await client.query("SELECT key, value FROM keyv WHERE key LIKE $1", [
          `${namespace}%`,
        ]);
        return rows.map((r): Row => [r.key, r.value]);
      } finally {
        await client.end();
      }
    },
  },
  {
    name: "mysql",
    service: "mysql",
    options: { url: serviceUrl("mysql"), namespace },
    async dump() {
      const connection = await mysql.createConnection(serviceUrl("mysql"));
      try {
        const [rows] = await connection.query("SELECT id, value FROM keyv WHERE id LIKE ?", [
          `${namespace}%`,
        ]);
        return (rows as { id: string; value: string }[]).map((r): Row => [r.id, r.value]);
      } finally {
        await connection.end();
      }
    },
  },
  {
    name: "sqlite",
    options: { database: join(dir, "raw.sqlite3"), namespace },
    dump: () =>
      new Promise((resolve, reject) => {
        const db = new sqlite3.Database(join(dir, "raw.sqlite3"));
        db.all("SELECT key, value FROM keyv", (err, rows: { key: string; value: string }[]) => {
          db.close();
          if (err) reject(err);
          else resolve(rows.map((r): Row => [r.key, r.value]));
        });
      }),
  },
];

describe("data at rest, read with the services' own clients", function () {
  this.timeout(15000);
  for (const store of cases) {
    it(`${store.name}: only the hashed id, and no plaintext`, async function () {
      if (store.service) await useService(this, store.service);
      const app = testApp({
        store: store.name,
        options: store.options,
        routes: (r) => r.get("/w", Writer, "write"),
      });
      try {
        await app.ready();
        const marker = `plaintext-${randomBytes(8).toString("hex")}`;
        const id = cookieValue(await request(app.callback()).get(`/w?v=${marker}`))!;
        expect(id).to.match(/^[A-Za-z0-9_-]{43}$/);
        const rows = await store.dump();
        const mine = rows.filter(([key]) => key.endsWith(privateId(id)));
        expect(mine, "one row under the hashed id").to.have.length(1);
        for (const [key, value] of rows) {
          expect(key).to.not.include(id);
          expect(value).to.not.include(id);
          expect(value).to.not.include(marker);
        }
      } finally {
        await app.close();
      }
    });
  }
  // memcached cannot list its keys, so its at-rest check is in server_stores_http.spec.ts: the value under
  // the hashed key is encrypted and nothing is stored under the raw id.
});
