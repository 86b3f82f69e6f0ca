import { applyChanges, type Changes, type SessionRecord } from "../record.js";

// Merging one request's changes onto the record as it is stored now (another request may have written it
// since this one read it). Data: the keys this request set or deleted (`changes`), over the current keys.
// The flash and the per-session expiry are not tracked key by key, so they are compared with what this
// request read: if the request left them as it found them, the current row's win; if it changed them
// (showed the flash, called expireIn), its own win. The CSRF secret likewise: a request that made or
// dropped one (a first form page, cycleKey) wins; one that only used it keeps whatever is stored now.

/** What a request loaded from the row: the exact stored string (the version) and the parts merged whole. */
export interface LoadedSnapshot {
  data: string;
  flash: Map<string, string>;
  maxAge: number | undefined;
  browserSession: boolean | undefined;
  csrf: string | undefined;
}

export function snapshotOf(data: string, record: SessionRecord): LoadedSnapshot {
  // The flash Map is kept by identity: the flash middleware replaces it (setFlash) when it changes it.
  const { flash, maxAge, browserSession, csrf } = record;
  return { data, flash, maxAge, browserSession, csrf };
}

/** `current` with one request's changes; `current.data` is changed in place when the caller owns it. */
export function mergeRecord(
  current: SessionRecord,
  mine: SessionRecord,
  changes: Changes,
  loaded: LoadedSnapshot | undefined,
  owned = false,
): SessionRecord {
  const keptExpiry =
    loaded !== undefined && mine.maxAge === loaded.maxAge && mine.browserSession === loaded.browserSession;
  const merged: SessionRecord = {
    data: applyChanges(current.data, changes, owned),
    flash: loaded !== undefined && mine.flash === loaded.flash ? current.flash : mine.flash,
    createdAt: current.createdAt,
  };
  const csrf = loaded !== undefined && mine.csrf === loaded.csrf ? current.csrf : mine.csrf;
  if (csrf !== undefined) merged.csrf = csrf;
  const expiryFrom = keptExpiry ? current : mine;
  if (expiryFrom.maxAge !== undefined) merged.maxAge = expiryFrom.maxAge;
  if (expiryFrom.browserSession) merged.browserSession = true;
  return merged;
}
