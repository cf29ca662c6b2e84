// Parses TraceQL with Grafana's own grammar (@grafana/lezer-traceql, the one Grafana's
// Tempo query editor uses).
//
// stdin:  {"name": "TraceQL text", ...}
// stdout: {"name": {"errors": [{"from": 3, "to": 4, "text": "..."}], "tree": "TraceQL(...)"}, ...}
//
// Lezer recovers from syntax errors by inserting error nodes (named "⚠"); a query is valid
// when its tree has none.
import { readFileSync } from "node:fs";
import { parser } from "@grafana/lezer-traceql";

function check(text) {
  const tree = parser.parse(text);
  const errors = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push({ from: node.from, to: node.to, text: text.slice(node.from, node.to) });
    },
  });
  return { errors, tree: tree.toString() };
}

const queries = JSON.parse(readFileSync(0, "utf8"));
const out = {};
for (const [name, text] of Object.entries(queries)) out[name] = check(text);
process.stdout.write(JSON.stringify(out));
