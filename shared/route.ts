// The policy in one call, for whoever decides one request at a time (explain, the tests): route(facts, doc, router)
// is exactly pick(plan(router, doc), facts). The runtimes, table and simulate plan once per document and pick per
// request instead (shared/plan.ts, shared/pick.ts).
import { type Decision, type Facts, type PickContext, pick } from './pick';
import { type DocInput, plan } from './plan';
import type { Router } from './router';

export function route(facts: Facts, doc: DocInput, router: Router, ctx?: PickContext): Decision {
  return pick(plan(router, doc), facts, ctx);
}
