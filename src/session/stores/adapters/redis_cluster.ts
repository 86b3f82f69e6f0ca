import type { RedisClusterOption } from "./options.js";

// The redis store's `cluster` option: node-redis's createCluster, as @keyv/redis accepts it. Only what a
// session store needs is taken: the root nodes. node-redis builds a client for every node it discovers
// from CLUSTER SLOTS out of `defaults` alone (the root node URLs are used only for the discovery), so the
// credentials and TLS of the root URLs are copied into `defaults`: hence one scheme and one user/password
// for every root node.

const SCHEME = /^rediss?:\/\//;

/** The validation rule's check: undefined when `value` is a usable `cluster` option, else what is allowed. */
export function checkRedisCluster(value: unknown): string | undefined {
  const shape = '{ rootNodes: ["redis://host:port", ...] } (strings or { url } objects)';
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `an object ${shape}`;
  const extra = Object.keys(value).find((key) => key !== "rootNodes");
  if (extra !== undefined) return `${shape}, with no other key (${JSON.stringify(extra)} is not taken)`;
  const nodes = (value as { rootNodes?: unknown }).rootNodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return `${shape} with at least one root node`;
  const urls: URL[] = [];
  for (const [i, node] of nodes.entries()) {
    const url = nodeUrl(node);
    const parsed = url !== undefined && SCHEME.test(url) ? parseUrl(url) : undefined;
    if (!parsed?.hostname) return `${shape}; rootNodes[${i}] is not a redis:// or rediss:// URL`;
    if (!/^\/?0?$/.test(parsed.pathname)) {
      return `${shape}; rootNodes[${i}] selects a database, but a cluster has only database 0`;
    }
    urls.push(parsed);
  }
  const key = (u: URL) => `${u.protocol} ${u.username} ${u.password}`;
  if (urls.some((u) => key(u) !== key(urls[0]!))) {
    return `${shape} sharing one scheme and one user/password (every node of a cluster is reached with the same)`;
  }
  return undefined;
}

function nodeUrl(node: unknown): string | undefined {
  if (typeof node === "string") return node;
  if (typeof node !== "object" || node === null) return undefined;
  const keys = Object.keys(node);
  const url = (node as { url?: unknown }).url;
  return keys.length === 1 && typeof url === "string" ? url : undefined;
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/**
 * createCluster's options: the root nodes, and `nodeOptions` (the single-node client's careful options) as
 * the `defaults` of every node client, with the root URLs' credentials and TLS. `commandOptions` also goes
 * on the cluster itself, which hands its own to each command it routes.
 */
export function clusterClientOptions(
  cluster: RedisClusterOption,
  nodeOptions: { socket: Record<string, unknown>; commandOptions: unknown } & Record<string, unknown>,
): Record<string, unknown> {
  const urls = cluster.rootNodes.map((node) => (typeof node === "string" ? node : node.url));
  const first = new URL(urls[0]!);
  const credentials = {
    ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
    ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
  };
  return {
    rootNodes: urls.map((url) => ({ url })),
    defaults: {
      ...nodeOptions,
      ...credentials,
      socket: { ...nodeOptions.socket, tls: first.protocol === "rediss:" },
    },
    commandOptions: nodeOptions.commandOptions,
  };
}

/**
 * Connects a cluster client on demand, one attempt at a time. node-redis's cluster connect() is a one-shot
 * discovery: if no root node answers it fails and the cluster stays closed (unlike a single-node client,
 * which keeps reconnecting). @keyv/redis's getClient() would then call connect() on every command, and a
 * second caller during an attempt gets "Cluster already open" and destroys the cluster the first is
 * connecting. Here callers share the attempt in flight, and a failed one is retried by the next call.
 * Once discovered, each node's client reconnects by itself (reconnectStrategy in `defaults`).
 */
export function clusterOpener(cluster: { readonly isOpen: boolean; connect(): Promise<unknown> }) {
  let attempt: Promise<void> | undefined;
  return (): Promise<void> => {
    if (attempt === undefined && cluster.isOpen) return Promise.resolve();
    attempt ??= cluster.connect().then(
      () => {
        attempt = undefined;
      },
      (error: unknown) => {
        attempt = undefined;
        throw error;
      },
    );
    return attempt;
  };
}
