// `ZoneCache` (§17.3): an in-memory cache per name shared by every call of the worker; values
// are stored as JSON copies (as Zuplo serialises them) and expire after `ttlSeconds`.

const zones = new Map();

function zone(name) {
  let entries = zones.get(name);
  if (!entries) zones.set(name, (entries = new Map()));
  return entries;
}

export class ZoneCache {
  #entries;
  name;

  constructor(name, context) {
    if (typeof name !== "string" || !name) throw new TypeError("ZoneCache needs a name");
    this.name = name;
    this.context = context;
    this.#entries = zone(name);
  }

  async get(key) {
    const entry = this.#entries.get(String(key));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(String(key));
      return undefined;
    }
    return JSON.parse(entry.json);
  }

  async put(key, value, ttlSeconds) {
    const ttl = Number(ttlSeconds);
    if (!Number.isFinite(ttl) || ttl <= 0) {
      throw new TypeError("ZoneCache.put needs a positive ttlSeconds");
    }
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError("ZoneCache.put: the value has no JSON form");
    this.#entries.set(String(key), { json, expiresAt: Date.now() + ttl * 1000 });
  }

  async delete(key) {
    this.#entries.delete(String(key));
  }
}
