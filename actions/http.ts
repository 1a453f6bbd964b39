/**
 * `http URL [BODY]`: POSTs to URL on each run, for webhooks and health pings.
 *
 * - Without BODY it sends `{"signal": "SIGUSR1", "action": "http", "time":
 *   "<ISO 8601>"}` as `application/json`. BODY is sent as it is: as
 *   `application/json` when it parses as JSON, else as `text/plain`.
 * - Set-up checks that URL is an `http:` or `https:` URL and that
 *   `--allow-net` covers its host.
 * - Redirects are followed by the action itself, at most 5 of them: a 301,
 *   302 or 303 is followed with a GET without body (as browsers do); a 307 or
 *   308 to the same origin (scheme, host and port) re-sends the POST and its
 *   body; a 307 or 308 to another origin is not followed (that would hand the
 *   body to another host): it is logged at warning, naming both URLs, and
 *   counts as a failure. So does a redirect to a URL that is not http(s), one
 *   past the fifth, and one to a host `--allow-net` does not cover. The final
 *   URL is logged with the status.
 * - A run gives up after 10 s (the whole chain of redirects), or when its
 *   `signal` fires (a stop, or the run's `timeout`). A failure (network
 *   error, timeout, a status outside 200-299) is logged at warning and never
 *   thrown: a webhook that is down does not fail the signal's other actions.
 *   Response bodies are always discarded.
 * - Log lines show URLs without their user, password and query, which often
 *   carry secrets.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";
import { setLongTimeout } from "../lib/core/delay.ts";

/** Options for {@link HttpAction}, for tests and library mode. */
export interface HttpActionOptions {
  /** How long a request may take, headers included. Default 10000. */
  timeoutMs?: number;
}

/** How many redirects a run follows at most. */
const MAX_REDIRECTS = 5;
/** The redirect statuses (fetch's); 307 and 308 keep the method and the body. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const JSON_TYPE = "application/json";
const TEXT_TYPE = "text/plain;charset=UTF-8";

/** POSTs a body to a URL on each run and logs the outcome. */
export default class HttpAction {
  /** One line for `flagstaff list`. */
  static readonly description =
    "POSTs BODY, or JSON naming the signal, action and time, to an http(s) URL";
  /** The arguments it takes. */
  static readonly arguments: readonly ActionArgument[] = [
    { name: "url", doc: "http or https URL to POST to" },
    {
      name: "body",
      optional: true,
      doc: "what to send: JSON if it parses as JSON, else text (default: signal, action, time)",
    },
  ];

  readonly #timeoutMs: number;
  #url: URL = new URL("http://localhost/");
  #shownUrl = "";
  #body?: { text: string; type: string };

  /** The runtime constructs the action with its context; `options` are for tests. */
  constructor(_context: ActionContext, options: HttpActionOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Checks the URL and keeps the body.
   *
   * @throws {Error} when `url` is not an http(s) URL or `--allow-net` does not cover its host.
   */
  setUp(url: string, body?: string): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      parsed = new URL("invalid:");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new Error(
        `Argument "url" must be an http or https URL, got ${JSON.stringify(url)}`,
      );
    }
    const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
    const host = `${parsed.hostname}:${port}`;
    if (Deno.permissions.querySync({ name: "net", host }).state !== "granted") {
      throw new Error(
        `Flagstaff may not connect to "${host}": give it --allow-net=${parsed.hostname} (or --allow-net)`,
      );
    }
    this.#url = parsed;
    this.#shownUrl = showUrl(parsed);
    if (body !== undefined) this.#body = { text: body, type: isJson(body) ? JSON_TYPE : TEXT_TYPE };
  }

  /** Sends the request, following redirects; logs the status, or why it failed. */
  async run(context: ActionContext): Promise<void> {
    const { logger } = context;
    const url = this.#shownUrl;
    let body: { text: string; type: string } | undefined = this.#body ?? {
      text: JSON.stringify({
        signal: context.trigger,
        action: context.name,
        time: new Date().toISOString(),
      }),
      type: JSON_TYPE,
    };
    const timeout = new AbortController();
    const timer = setLongTimeout(() => timeout.abort(), this.#timeoutMs);
    const signal = AbortSignal.any([context.signal, timeout.signal]);
    let current = this.#url;
    let method = "POST";
    let redirects = 0;
    /** Where the chain ended, when it did not end where it started. */
    const where = () =>
      redirects === 0
        ? ""
        : ` at ${showUrl(current)} (${method}, after ${redirects} redirect${
          redirects === 1 ? "" : "s"
        })`;
    try {
      while (true) {
        const response = await fetch(current, {
          method,
          headers: body ? { "content-type": body.type } : {},
          body: body?.text,
          signal,
          redirect: "manual",
        });
        try {
          await response.body?.cancel();
        } catch {
          // Nothing to free.
        }
        const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
        const location = REDIRECTS.has(response.status) ? response.headers.get("location") : null;
        if (location === null) {
          if (response.ok) {
            logger.info("http POST {url}: {status}{where}", { url, status, where: where() });
          } else {
            logger.warn("http POST {url} failed: {status}{where}", { url, status, where: where() });
          }
          return;
        }
        const next = URL.parse(location, current);
        const from = showUrl(current);
        const why = next === null
          ? `${status} from ${from} has an invalid Location header`
          : next.protocol !== "http:" && next.protocol !== "https:"
          ? `${status} from ${from} to ${showUrl(next)}, which is not an http or https URL`
          : redirects === MAX_REDIRECTS
          ? `more than ${MAX_REDIRECTS} redirects, the last a ${status} from ${from} to ${
            showUrl(next)
          }`
          : (response.status === 307 || response.status === 308) && next.origin !== current.origin
          ? `not following ${status} from ${from} to ${
            showUrl(next)
          }, another origin: the request body goes only to the origin it was meant for`
          : undefined;
        if (why !== undefined || next === null) {
          logger.warn("http POST {url} failed: {why}", { url, why });
          return;
        }
        if (response.status !== 307 && response.status !== 308) {
          // 301, 302, 303: what browsers do with a POST.
          method = "GET";
          body = undefined;
        }
        current = next;
        redirects++;
      }
    } catch (error) {
      const reason = context.signal.aborted
        ? `aborted: ${describe(context.signal.reason)}`
        : timeout.signal.aborted
        ? `no response within ${this.#timeoutMs} ms`
        : redact(describe(error), current);
      logger.warn("http POST {url} failed: {reason}{where}", { url, reason, where: where() });
    } finally {
      timer.cancel();
    }
  }
}

/** A URL as log lines show it: without user, password, query and fragment. */
function showUrl(url: URL): string {
  return `${url.origin === "null" ? url.protocol : url.origin}${url.pathname}`;
}

/** Shows `url` in an error message as log lines do (fetch's messages name it in full). */
function redact(message: string, url: URL): string {
  const shown = showUrl(url);
  const origin = new RegExp(`${escapeRegExp(url.origin)}[^\\s)]*`, "g");
  return message.replaceAll(url.href, shown).replace(origin, shown);
}

/** Escapes a text for use in a regular expression. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Whether a text parses as JSON. */
function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Describes an error or abort reason in a few words (with its cause, as fetch nests it). */
function describe(reason: unknown): string {
  if (!(reason instanceof Error)) return String(reason);
  const cause = reason.cause instanceof Error ? `: ${reason.cause.message}` : "";
  return `${reason.message}${cause}`;
}
