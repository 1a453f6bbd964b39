/** flagstaff's version; `deno.json` carries the same (a test keeps them in step). */
export const VERSION = "0.1.0";
