/**
 * PromQL as the deploy tests need it: every metric selector of an expression, with the functions
 * and aggregations around it, from Prometheus's own grammar (@prometheus-io/lezer-promql).
 */
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Grafana's built-in interval variables, replaced by a plain duration before parsing. */
const GRAFANA_INTERVALS = /\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g;

export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(GRAFANA_INTERVALS, '5m');
}

export interface Aggregation {
  op: string;
  /** Labels after `by`, or undefined when the aggregation has no `by` clause. */
  by?: string[];
  /** Labels after `without`, or undefined. */
  without?: string[];
}

export interface Selector {
  /** The metric name as written (e.g. distillery_http_request_duration_seconds_bucket). */
  name: string;
  /** Functions around the selector, innermost first (rate, histogram_quantile, ...). */
  functions: string[];
  /** Aggregation operators around the selector, innermost first (sum, count, max, ...). */
  aggregations: string[];
  /** Aggregations around the selector up to the nearest enclosing histogram_quantile, innermost first. */
  aggregationsInsideQuantile: Aggregation[];
}

export interface ParsedQuery {
  selectors: Selector[];
  /** Syntax errors as "offset: text"; empty when the query parses. */
  errors: string[];
}

function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

function labelNames(grouping: SyntaxNode | null, text: (n: SyntaxNode) => string): string[] {
  if (!grouping) return [];
  return childrenOf(grouping)
    .filter((c) => c.name === 'LabelName')
    .map(text);
}

function aggregationOf(node: SyntaxNode, text: (n: SyntaxNode) => string): Aggregation {
  const op = text(node.getChild('AggregateOp') ?? node).toLowerCase();
  const modifier = node.getChild('AggregateModifier');
  if (!modifier) return { op };
  const grouping = modifier.getChild('GroupingLabels');
  if (modifier.getChild('By')) return { op, by: labelNames(grouping, text) };
  return { op, without: labelNames(grouping, text) };
}

export function parsePromQL(expr: string): ParsedQuery {
  const tree = parser.parse(expr);
  const text = (n: SyntaxNode) => expr.slice(n.from, n.to);
  const selectors: Selector[] = [];
  const errors: string[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(`${ref.from}: ${JSON.stringify(expr.slice(Math.max(0, ref.from - 20), ref.to + 20))}`);
        return;
      }
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      const identifier = node.getChild('Identifier');
      const name = identifier ? text(identifier) : '';
      const functions: string[] = [];
      const aggregations: Aggregation[] = [];
      const insideQuantile: Aggregation[] = [];
      let quantileSeen = false;
      for (let p = node.parent; p; p = p.parent) {
        if (p.name === 'FunctionCall') {
          const fn = text(p.getChild('FunctionIdentifier') ?? p);
          functions.push(fn);
          if (fn === 'histogram_quantile') quantileSeen = true;
        } else if (p.name === 'AggregateExpr') {
          const aggregation = aggregationOf(p, text);
          aggregations.push(aggregation);
          if (!quantileSeen) insideQuantile.push(aggregation);
        }
      }
      selectors.push({
        name,
        functions,
        aggregations: aggregations.map((a) => a.op),
        aggregationsInsideQuantile: quantileSeen ? insideQuantile : [],
      });
    },
  });
  return { selectors, errors };
}
