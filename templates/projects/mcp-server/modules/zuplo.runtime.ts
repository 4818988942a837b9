import { OAuthProtectedResourcePlugin, RuntimeExtensions } from "@zuplo/runtime";

export function runtimeInit(runtime: RuntimeExtensions) {
  // Publishes /.well-known/oauth-protected-resource/<path>, so that MCP clients find the
  // authorization server from the JWT policy's 401 challenge. Put your tenant's URL here.
  runtime.addPlugin(
    new OAuthProtectedResourcePlugin({
      authorizationServers: ["https://your-tenant.us.auth0.com/"],
      resourceName: "To-do MCP server",
    }),
  );
}
