// Checks KQL with Microsoft's Kusto language service (@kusto/language-service-next).
//
// stdin:  {"tables": {"dependencies": {"timestamp": "datetime", ...}, ...},
//          "queries": {"name": "KQL text", ...}}
// stdout: {"name": [{"severity": "Error", "code": "KS142", "message": "...", "start": 12, "length": 3}], ...}
//
// Each query is parsed and semantically analysed (KustoCode.ParseAndAnalyze) against a
// database declaring the given tables and columns, as Application Insights exposes them.
// Every diagnostic is reported; the caller decides which severities fail.
"use strict";

require("@kusto/language-service-next/bridge.min.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");

const Sym = Kusto.Language.Symbols;

const SCALARS = {
  string: Sym.ScalarTypes.String,
  datetime: Sym.ScalarTypes.DateTime,
  timespan: Sym.ScalarTypes.TimeSpan,
  real: Sym.ScalarTypes.Real,
  int: Sym.ScalarTypes.Int,
  long: Sym.ScalarTypes.Long,
  bool: Sym.ScalarTypes.Bool,
  dynamic: Sym.ScalarTypes.Dynamic,
  guid: Sym.ScalarTypes.Guid,
};

function globalsFor(tables) {
  const symbols = Object.entries(tables).map(([name, columns]) => {
    const cols = Object.entries(columns).map(([column, type]) => {
      if (!(type in SCALARS)) throw new Error(`unknown column type ${type} for ${name}.${column}`);
      return new Sym.ColumnSymbol(column, SCALARS[type], null, null, null, null);
    });
    return new Sym.TableSymbol.$ctor4(name, cols);
  });
  const database = new Sym.DatabaseSymbol.$ctor1("appinsights", Bridge.toList(symbols), false);
  return Kusto.Language.GlobalState.Default.WithDatabase(database);
}

function diagnostics(text, globals) {
  const code = Kusto.Language.KustoCode.ParseAndAnalyze(text, globals);
  const found = [];
  const list = code.GetDiagnostics();
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    found.push({ severity: d.Severity, code: d.Code, message: d.Message, start: d.Start, length: d.Length });
  }
  return found;
}

function main() {
  const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const globals = globalsFor(input.tables);
  const out = {};
  for (const [name, text] of Object.entries(input.queries)) out[name] = diagnostics(text, globals);
  process.stdout.write(JSON.stringify(out));
}

main();
