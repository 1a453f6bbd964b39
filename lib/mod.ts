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

export { Controller, InvalidStateError } from "./runtime/controller.ts";
export type {
  AppArgs,
  AppOptions,
  AppOptionSpec,
  AppOptionType,
  ArgsOf,
  ControllerContext,
  ControllerLike,
  Logger,
  SystemPlatform,
} from "./runtime/controller.ts";
export { systemPlatform } from "./runtime/controller.ts";
export { start } from "./cli/start.ts";
export { Action } from "./runtime/action.ts";
export type {
  ActionArgument,
  ActionArgumentType,
  ActionClass,
  ActionContext,
  ActionInstance,
  ActionOutput,
  RuntimeControl,
  TriggerKey,
} from "./runtime/action.ts";
export type { StartOptions } from "./cli/start.ts";
export {
  DEFAULT_STOP_TIMEOUT_S,
  DEFAULT_WAKE_INTERVAL_S,
  defaultConfig,
  loadConfig,
  parseConfig,
  validateConfigFile,
  validateConfigText,
} from "./config/config.ts";
export type {
  ActionSignal,
  ActionUse,
  ApplicationConfig,
  Config,
  ConfigSections,
  ConfigValidation,
  DaemonConfig,
  LoadConfigOptions,
  ScheduleConfig,
  SchedulesConfig,
} from "./config/config.ts";
export { ConfigError, ERROR_CODES, EXIT_CODES, FlagstaffError } from "./core/errors.ts";
export type { ConfigIssue, ErrorCode } from "./core/errors.ts";
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
} from "./logging/logging.ts";
export { STATES } from "./core/states.ts";
export type { State, StateName } from "./core/states.ts";
export { VERSION } from "./core/version.ts";
