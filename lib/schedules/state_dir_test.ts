import assert from "node:assert/strict";
import { FlagstaffError } from "../core/errors.ts";
import { defaultStateDir } from "./state_dir.ts";

Deno.test("defaultStateDir() follows systemd, then root, then XDG", () => {
  const cases: [env: Record<string, string>, euid: number, dir: string][] = [
    [{ STATE_DIRECTORY: "/var/lib/unit" }, 0, "/var/lib/unit"],
    [{ STATE_DIRECTORY: "/var/lib/unit", HOME: "/home/ann" }, 1000, "/var/lib/unit"],
    [{ STATE_DIRECTORY: "/var/lib/a:/var/lib/b" }, 0, "/var/lib/a"],
    [{ STATE_DIRECTORY: "relative" }, 0, "/var/lib/demo"], // not systemd's: ignored
    [{ STATE_DIRECTORY: "" }, 0, "/var/lib/demo"],
    [{}, 0, "/var/lib/demo"],
    [{ HOME: "/root", XDG_STATE_HOME: "/root/.state" }, 0, "/var/lib/demo"], // root: system dir
    [{ HOME: "/home/ann", XDG_STATE_HOME: "/srv/state" }, 1000, "/srv/state/demo"],
    [{ HOME: "/home/ann", XDG_STATE_HOME: "state" }, 1000, "/home/ann/.local/state/demo"],
    [{ HOME: "/home/ann" }, 1000, "/home/ann/.local/state/demo"],
    [{ HOME: "/home/ann/" }, 65534, "/home/ann/.local/state/demo"],
  ];
  for (const [env, euid, dir] of cases) {
    assert.equal(defaultStateDir("demo", { env, euid }), dir, JSON.stringify(env));
  }
});

Deno.test("defaultStateDir() says to set Daemon.state_dir when it cannot choose", () => {
  const cases: [app: string, env: Record<string, string>, message: string][] = [
    [
      "demo",
      {},
      "Cannot choose a state folder: not root, and neither XDG_STATE_HOME nor HOME is an " +
      "absolute path; set Daemon.state_dir",
    ],
    [
      "demo",
      { HOME: "relative" },
      "Cannot choose a state folder: not root, and neither XDG_STATE_HOME nor HOME is an " +
      "absolute path; set Daemon.state_dir",
    ],
    ["../etc", { HOME: "/h" }, 'the app name "../etc" is not a file name'],
    ["..", { HOME: "/h" }, 'the app name ".." is not a file name'],
    ["", { HOME: "/h" }, 'the app name "" is not a file name'],
  ];
  for (const [app, env, message] of cases) {
    assert.throws(
      () => defaultStateDir(app, { env, euid: 1000 }),
      (error: unknown) => {
        assert.ok(error instanceof FlagstaffError);
        assert.equal(error.code, "config_invalid");
        assert.ok(error.message.includes(message), error.message);
        return true;
      },
    );
  }
});
