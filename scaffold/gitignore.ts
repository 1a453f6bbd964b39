/**
 * `.gitignore` of a new project.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `.gitignore`: the compiled binary and local log files; `deno.lock` is committed. */
export function gitignore(_vars: TemplateVars): string {
  return `# deno task compile
dist/
# log files of a local run
*.log
*.log.[0-9]*
.DS_Store
`;
}
