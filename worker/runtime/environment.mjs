// `environment` (§17.2): the process variables, the project's variables from `init.env`, and
// the Zuplo-provided ones as `zuplo dev` sets them (stage `local`). Filled in place at `init`
// so that modules importing it earlier see the same object.

import path from "node:path";

export const environment = {};

export function setEnvironment(projectRoot, env) {
  for (const key of Object.keys(environment)) delete environment[key];
  Object.assign(environment, process.env, env ?? {});
  const projectName = path.basename(projectRoot ?? "") || "local-project";
  environment.ZUPLO_ENVIRONMENT_STAGE = "local";
  environment.ZUPLO_ENVIRONMENT_TYPE = "development";
  environment.ZUPLO_ENVIRONMENT_NAME ??= "local";
  environment.ZUPLO_ACCOUNT_NAME ??= "local-account";
  environment.ZUPLO_PROJECT_NAME ??= projectName;
}
