// The stand-in for `@zuplo/otel`: OpenTelemetryPlugin is accepted and has no effect (§17.4).

export { OpenTelemetryPlugin } from "./extensions.mjs";
