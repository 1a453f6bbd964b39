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

Deno.test("defaultStateDir() refuses a default folder that holds files not flagstaff's", async () => {
  const home = await Deno.makeTempDir({ prefix: "flagstaff-state-dir-" });
  try {
    const env = { XDG_STATE_HOME: home };
    // Missing: flagstaff makes it later. Holding only the state (and a temp file): flagstaff's.
    assert.equal(defaultStateDir("dpkg", { env, euid: 1000 }), `${home}/dpkg`);
    await Deno.mkdir(`${home}/dpkg`);
    await Deno.writeTextFile(`${home}/dpkg/schedules.json`, "{}");
    await Deno.writeTextFile(`${home}/dpkg/.schedules.json.0b1c.tmp`, "");
    assert.equal(defaultStateDir("dpkg", { env, euid: 1000 }), `${home}/dpkg`);
    // Another program's folder, as /var/lib/dpkg is to a config named dpkg.yml.
    await Deno.writeTextFile(`${home}/dpkg/status`, "");
    assert.throws(
      () => defaultStateDir("dpkg", { env, euid: 1000 }),
      new FlagstaffError(
        "config_invalid",
        `Cannot choose a state folder: the default "${home}/dpkg" holds files that are not ` +
          `flagstaff's (such as "status"); set Daemon.state_dir`,
      ),
    );
    // systemd's folder for the unit is the unit's own, whatever it holds.
    const unit = { STATE_DIRECTORY: `${home}/dpkg`, ...env };
    assert.equal(defaultStateDir("dpkg", { env: unit, euid: 1000 }), `${home}/dpkg`);
    const asked: string[] = [];
    const foreign = (dir: string) => void asked.push(dir);
    assert.equal(defaultStateDir("demo", { env: {}, euid: 0, foreign }), "/var/lib/demo");
    assert.deepEqual(asked, ["/var/lib/demo"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
