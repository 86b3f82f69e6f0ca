import { expect } from "chai";
import { ConfigError } from "stoat";
import {
  checkRedisCluster,
  clusterClientOptions,
} from "../../../src/session/stores/adapters/redis_cluster.js";
import { testApp } from "../../support/app.js";

// The redis store's options, checked at boot like every other store's: `url` or `cluster`, never both.

function bootError(options: Record<string, unknown>): Error | undefined {
  try {
    testApp({ store: "redis", options });
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

describe("redis store options", () => {
  it("refuses bad url and cluster values at boot, naming the option and what is allowed", () => {
    const node = "redis://127.0.0.1:7000";
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ url: "http://127.0.0.1:6379" }, /url must be a URL starting with redis:\/\/ or rediss:\/\//],
      [{ cluster: node }, /cluster must be an object \{ rootNodes: \[/],
      [{ cluster: [node] }, /cluster must be an object \{ rootNodes: \[/],
      [{ cluster: {} }, /cluster must be .* with at least one root node/],
      [{ cluster: { rootNodes: [] } }, /cluster must be .* with at least one root node/],
      [{ cluster: { rootNodes: node } }, /cluster must be .* with at least one root node/],
      [{ cluster: { rootNodes: [node, "127.0.0.1:7001"] } }, /rootNodes\[1\] is not a redis:\/\/ or rediss:/],
      [{ cluster: { rootNodes: [{ host: "127.0.0.1", port: 7000 }] } }, /rootNodes\[0\] is not a redis/],
      [{ cluster: { rootNodes: [{ url: node, password: "x" }] } }, /rootNodes\[0\] is not a redis/],
      [{ cluster: { rootNodes: ["redis://"] } }, /rootNodes\[0\] is not a redis/],
      [{ cluster: { rootNodes: [`${node}/2`] } }, /rootNodes\[0\] selects a database, .* only database 0/],
      [{ cluster: { rootNodes: [node, "rediss://127.0.0.1:7001"] } }, /sharing one scheme and one user/],
      [{ cluster: { rootNodes: [node, "redis://:pw@127.0.0.1:7001"] } }, /sharing one scheme and one user/],
      [{ cluster: { rootNodes: [node], defaults: {} } }, /with no other key \("defaults" is not taken\)/],
      [{ clusters: { rootNodes: [node] } }, /clusters is not an option; did you mean cluster\?/],
      [
        { url: "redis://127.0.0.1:6379", cluster: { rootNodes: [node] } },
        /takes `url` .* or `cluster` .* not both/,
      ],
    ];
    for (const [options, message] of cases) {
      const error = bootError(options);
      expect(error, JSON.stringify(options)).to.be.instanceOf(ConfigError);
      expect(error!.message, JSON.stringify(options)).to.match(message);
    }
  });

  it("takes root nodes as strings or { url } objects, redis:// or rediss://, database 0 at most", () => {
    for (const rootNodes of [
      ["redis://127.0.0.1:7000"],
      ["redis://10.0.0.1:7000", { url: "redis://10.0.0.2:7000/0" }, "redis://10.0.0.3:7000/"],
      ["rediss://user:p%40ss@a.example:6380", "rediss://user:p%40ss@b.example:6380"],
    ]) {
      expect(checkRedisCluster({ rootNodes }), JSON.stringify(rootNodes)).to.equal(undefined);
    }
  });

  it("gives every node's client the root nodes' credentials and TLS, and the store's client options", () => {
    const node = {
      disableOfflineQueue: true,
      commandOptions: { timeout: 500 },
      socket: { connectTimeout: 500 },
    };
    const options = clusterClientOptions(
      { rootNodes: ["rediss://user:p%40ss@a.example:6380", { url: "rediss://user:p%40ss@b.example:6380" }] },
      node,
    );
    expect(options).to.deep.equal({
      rootNodes: [
        { url: "rediss://user:p%40ss@a.example:6380" },
        { url: "rediss://user:p%40ss@b.example:6380" },
      ],
      defaults: {
        disableOfflineQueue: true,
        commandOptions: { timeout: 500 },
        username: "user",
        password: "p@ss",
        socket: { connectTimeout: 500, tls: true },
      },
      commandOptions: { timeout: 500 },
    });
  });
});
