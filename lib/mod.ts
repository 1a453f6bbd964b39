/**
 * flagstaff's public API: write a {@link Controller}, pass it to
 * {@link start}.
 *
 * @example
 * ```ts ignore
 * import { Controller, start } from "./mod.ts";
 *
 * class Clock extends Controller {
 *   override process(): void {
 *     this.logger.info("tick");
 *   }
 * }
 * if (import.meta.main) Deno.exit(await start(Clock, { name: "clock" }));
 * ```
 *
 * @module
 */

export { Controller, InvalidStateError } from "./controller.ts";
export type { ControllerContext, ControllerLike, Logger } from "./controller.ts";
export { start } from "./start.ts";
export { Action } from "./action.ts";
export type {
  ActionArgument,
  ActionArgumentType,
  ActionClass,
  ActionContext,
  ActionInstance,
  ActionOutput,
  RuntimeControl,
} from "./action.ts";
export type { StartOptions } from "./start.ts";
export {
  DEFAULT_STOP_TIMEOUT_S,
  DEFAULT_WAKE_INTERVAL_S,
  defaultConfig,
  loadConfig,
  parseConfig,
  validateConfigFile,
  validateConfigText,
} from "./config.ts";
export type {
  ActionSignal,
  ActionUse,
  ApplicationConfig,
  Config,
  ConfigValidation,
  DaemonConfig,
  LoadConfigOptions,
} from "./config.ts";
export { ConfigError, ERROR_CODES, EXIT_CODES, FlagstaffError } from "./errors.ts";
export type { ConfigIssue, ErrorCode } from "./errors.ts";
export type {
  FileHandlerSection,
  FileOptions,
  FormatterSection,
  HandlerCommon,
  HandlerSection,
  LoggerSection,
  LoggingLevel,
  LoggingSection,
  NullHandlerSection,
  RootSection,
  RotatingFileHandlerSection,
  StreamHandlerSection,
} from "./logging.ts";
export { STATES } from "./states.ts";
export type { State, StateName } from "./states.ts";
export { VERSION } from "./version.ts";
export { checkProjectName, newProject, PROJECT_NAME_PATTERN } from "./scaffold.ts";
export type { NewProjectOptions, NewProjectResult } from "./scaffold.ts";
