// `ZuploRequest` (§17.2): the Fetch `Request` plus route `params`, a read-only `query` object
// (last value wins for a repeated key) and a writable `user`; both carry over when a
// ZuploRequest is the constructor's input, unless init gives new ones.

export class ZuploRequest extends Request {
  #params;
  #query;
  user;

  constructor(input, init = {}) {
    const from = input instanceof ZuploRequest ? input : undefined;
    const { params, user, ...requestInit } = init ?? {};
    // Node's Request demands `duplex` for a stream body; a carried-over body is one.
    if (requestInit.body != null || (input instanceof Request && input.body != null)) {
      requestInit.duplex ??= "half";
    }
    super(input, requestInit);
    this.#params = Object.freeze({ ...(params ?? from?.params ?? {}) });
    this.user = "user" in (init ?? {}) ? user : from?.user;
    const query = {};
    for (const [key, value] of new URL(this.url).searchParams) query[key] = value;
    this.#query = Object.freeze(query);
  }

  get params() {
    return this.#params;
  }

  get query() {
    return this.#query;
  }

  /** Node's clone() returns a plain Request; keep params and user. */
  clone() {
    return new ZuploRequest(super.clone(), { params: this.#params, user: this.user });
  }
}
