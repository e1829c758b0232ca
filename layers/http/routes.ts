import { apiRoutes } from '#functions/api/routes.ts';
import { auditRoutes } from '#functions/audit/routes.ts';
import { messagesRoutes } from '#functions/messages/routes.ts';
import { publicRightsRoutes } from '#functions/public-rights/routes.ts';
import { recipientsRoutes } from '#functions/recipients/routes.ts';
import { senderIdsRoutes } from '#functions/sender-ids/routes.ts';
import { subjectRightsRoutes } from '#functions/subject-rights/routes.ts';
import { tenantsRoutes } from '#functions/tenants/routes.ts';
import { usageRoutes } from '#functions/usage/routes.ts';
import { webhooksRoutes } from '#functions/webhooks/routes.ts';
import { type Route, withEdgeResponses } from './route.ts';

/**
 * The routes, each with the responses of its own (ROUTES adds those every route has). Kept as
 * literal types: an operation's handler (`layers/http/operations.ts`) gets its input typed from
 * its route's schemas, by operation id.
 */
const TABLE = [
  ...messagesRoutes,
  ...subjectRightsRoutes,
  ...recipientsRoutes,
  ...senderIdsRoutes,
  ...publicRightsRoutes,
  ...apiRoutes,
  ...tenantsRoutes,
  ...auditRoutes,
  ...usageRoutes,
  ...webhooksRoutes,
] as const satisfies readonly Route[];

/** The routes of the HTTP functions as the table states them, one type per route. */
export type TableRoute = (typeof TABLE)[number];

/**
 * The single source of truth for the HTTP API: the CDK app builds API Gateway routes from it,
 * the local runtime serves the same handlers from it, and the OpenAPI document is generated
 * from it. A request no route takes goes to the `$default` route (see `unknownRoute`).
 */
export const ROUTES: Route[] = TABLE.map(withEdgeResponses);
