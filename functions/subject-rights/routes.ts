import { problems, type Route } from '#layers/http/route.ts';
import { ErasureQuery, ErasureResult, SubjectExport, SubjectParams } from './schemas.ts';

/** The subject-rights capability's routes. */
export const subjectRightsRoutes = [
  {
    method: 'GET',
    path: '/v1/subjects/{phone}/export',
    function: 'subjects',
    auth: 'tenant',
    scope: 'read',
    operationId: 'exportSubject',
    summary: 'Everything this tenant holds about a phone number, in both jurisdictions, decrypted',
    tags: ['Data subjects'],
    params: SubjectParams,
    responses: {
      200: { description: 'The export', schema: SubjectExport },
      ...problems(401, 403, 421, 422, 429),
    },
  },
  {
    method: 'DELETE',
    path: '/v1/subjects/{phone}',
    function: 'subjects',
    auth: 'tenant',
    scope: 'admin',
    operationId: 'eraseSubject',
    summary: 'Erase every live trace of a phone number; says what remains and until when',
    tags: ['Data subjects'],
    params: SubjectParams,
    query: ErasureQuery,
    responses: {
      200: { description: 'What was erased and what remains', schema: ErasureResult },
      ...problems(401, 403, 421, 422, 429),
    },
  },
] as const satisfies readonly Route[];
