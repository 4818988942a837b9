// What the stand-in does NOT provide: values that throw "not available in mcpgw dev: <Name>"
// when used, so a module that imports them still loads and a use fails loudly, never silently.

/** The error every unprovided API throws. */
export function notAvailable(name) {
  const error = new Error(`not available in mcpgw dev: ${name}`);
  error.name = "NotAvailableInMcpgwDev";
  return error;
}

/** A function (callable and constructible, also as a base class) that throws when used. */
export function unavailable(name) {
  return {
    [name]: function () {
      throw notAvailable(name);
    },
  }[name];
}

/**
 * A value for a name that is only a TypeScript type in Zuplo. Type stripping keeps imports not
 * marked `type`, so the name must exist at run time; using it as a value is a mistake.
 */
export function typeOnly(name) {
  return {
    [name]: function () {
      throw new TypeError(`${name} is a type in @zuplo/runtime, not a value`);
    },
  }[name];
}
