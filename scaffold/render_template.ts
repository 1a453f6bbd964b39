/**
 * The one renderer of `flagstaff new`'s templates: the files in
 * `scaffold/templates/`, the generated project's files as they will be, with
 * `{{key}}` placeholders.
 *
 * Why `{{key}}`: nothing else in the templates is written that way (not
 * TypeScript's `${…}`, YAML's `{ a: b }`, or the shell's `${VAR:-x}`), and
 * {@link renderTemplate} refuses any `{{` or `}}` that is not a known
 * placeholder, so a clash could never slip into a project unnoticed: it
 * fails the scaffold's tests.
 *
 * @module
 */

/** A placeholder: `{{` a camelCase key `}}`, no spaces. */
const PLACEHOLDER = /\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g;

/**
 * Fills `template`'s `{{key}}` placeholders with `values[key]`, as they are
 * (the caller escapes them for the file's language if need be). Line ends
 * are `\n` whatever the checkout made of them.
 *
 * @param template The template's text.
 * @param values The text of each placeholder, by key.
 * @returns The rendered text.
 * @throws {Error} for a placeholder with no value (naming it), or a
 *   `{{`/`}}` that is no placeholder (with its offset): a fault of the
 *   template, never of the user's input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderTemplate } from "./render_template.ts";
 * assert.equal(renderTemplate("NAME={{name}} # ${NAME}\n", { name: "clock" }), "NAME=clock # ${NAME}\n");
 * assert.throws(() => renderTemplate("{{nmae}}", { name: "clock" }), /no value for "{{nmae}}"/);
 * ```
 */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string>>,
): string {
  const text = template.replaceAll("\r\n", "\n");
  const rendered = text.replace(PLACEHOLDER, (placeholder, key: string) => {
    if (!Object.hasOwn(values, key)) {
      throw new Error(`Template has no value for "${placeholder}"`);
    }
    return values[key];
  });
  const stray = text.replace(PLACEHOLDER, "").match(/\{\{|\}\}/);
  if (stray) {
    throw new Error(
      `Template has "${stray[0]}" outside a placeholder {{key}}, at offset ${stray.index}`,
    );
  }
  return rendered;
}
