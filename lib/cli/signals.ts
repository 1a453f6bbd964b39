/**
 * What the command line does with the signal listeners `main.ts` installed
 * first thing: `run` keeps them to the end; every other command gives each
 * signal its default action back.
 *
 * @module
 */

import { dieBy, type SignalInbox } from "../os/signals.ts";

/**
 * For every command but `run`: signals get their default action again, and
 * one that came while flagstaff was starting ends the process as it would
 * have (`flagstaff status` is ended by Ctrl-C as any command is).
 */
export function releaseSignals(inbox: SignalInbox | undefined): void {
  const pending = inbox?.close();
  if (pending) dieBy(pending);
}
