import assert from "node:assert/strict";
import { renderTemplate } from "./render_template.ts";

Deno.test("renderTemplate() fills every placeholder and leaves ${…}, { a: b } and $VAR alone", () => {
  const template = 'const NAME = "{{name}}"; `${NAME}` {{name}}\n' +
    "x: { a: b }\nDAEMON=${DAEMON:-/usr/local/bin/{{name}}}\n";
  assert.equal(
    renderTemplate(template, { name: "clock" }),
    'const NAME = "clock"; `${NAME}` clock\nx: { a: b }\nDAEMON=${DAEMON:-/usr/local/bin/clock}\n',
  );
});

Deno.test("renderTemplate() inserts values as they are, with no $-patterns and no re-rendering", () => {
  assert.equal(
    renderTemplate("[{{a}}] [{{b}}]", { a: "$& $1 $$ {{b}}", b: "x" }),
    "[$& $1 $$ {{b}}] [x]",
  );
});

Deno.test("renderTemplate() writes \\n line ends when the template has \\r\\n", () => {
  assert.equal(renderTemplate("a {{name}}\r\nb\r\n", { name: "c" }), "a c\nb\n");
});

Deno.test("renderTemplate() refuses a placeholder with no value, naming it", () => {
  assert.throws(
    () => renderTemplate("{{name}} {{nmae}}", { name: "c" }),
    { message: 'Template has no value for "{{nmae}}"' },
  );
  assert.throws(() => renderTemplate("{{toString}}", {}), /no value for "\{\{toString\}\}"/);
});

Deno.test("renderTemplate() refuses {{ or }} outside a placeholder, with its offset", () => {
  assert.throws(
    () => renderTemplate("ok {{ name }}", { name: "c" }),
    { message: 'Template has "{{" outside a placeholder {{key}}, at offset 3' },
  );
  assert.throws(() => renderTemplate("a: {{b: 1}: 2}", {}), /"\{\{" outside a placeholder/);
  assert.throws(() => renderTemplate("{x}}", {}), /"\}\}" outside a placeholder/);
});
