// `RuntimeExtensions` (what `runtimeInit` receives) and the plugin classes whose options
// mcpgw serves itself (McpGatewayPlugin §1.6, OAuthProtectedResourcePlugin §16.4) or accepts
// without effect (OpenTelemetryPlugin). The worker reports the plugins in `init_done` and runs
// the registered hooks on `hook` calls.

class OptionsPlugin {
  constructor(options = {}) {
    this.options = options ?? {};
  }
}

export class McpGatewayPlugin extends OptionsPlugin {}
export class OAuthProtectedResourcePlugin extends OptionsPlugin {}
export class OpenTelemetryPlugin extends OptionsPlugin {}

function requireFunction(what, fn) {
  if (typeof fn !== "function") throw new TypeError(`${what} needs a function`);
}

export class RuntimeExtensions {
  #plugins = [];
  #hooks = { request: [], preRouting: [], responseSending: [], responseSendingFinal: [] };
  #problemResponseFormat;
  #notFoundHandler;

  addPlugin(plugin) {
    if (plugin == null || typeof plugin !== "object") {
      throw new TypeError("addPlugin needs a plugin object");
    }
    this.#plugins.push(plugin);
  }

  addRequestHook(hook) {
    requireFunction("addRequestHook", hook);
    this.#hooks.request.push(hook);
  }

  addPreRoutingHook(hook) {
    requireFunction("addPreRoutingHook", hook);
    this.#hooks.preRouting.push(hook);
  }

  addResponseSendingHook(hook) {
    requireFunction("addResponseSendingHook", hook);
    this.#hooks.responseSending.push(hook);
  }

  addResponseSendingFinalHook(hook) {
    requireFunction("addResponseSendingFinalHook", hook);
    this.#hooks.responseSendingFinal.push(hook);
  }

  get problemResponseFormat() {
    return this.#problemResponseFormat;
  }

  set problemResponseFormat(fn) {
    requireFunction("problemResponseFormat", fn);
    this.#problemResponseFormat = fn;
  }

  get notFoundHandler() {
    return this.#notFoundHandler;
  }

  set notFoundHandler(fn) {
    requireFunction("notFoundHandler", fn);
    this.#notFoundHandler = fn;
  }

  /** Worker-internal live view of what runtimeInit registered (also later assignments). */
  static registrations(runtime) {
    return {
      plugins: runtime.#plugins,
      hooks: runtime.#hooks,
      get problemResponseFormat() {
        return runtime.#problemResponseFormat;
      },
      get notFoundHandler() {
        return runtime.#notFoundHandler;
      },
    };
  }
}
