/**
 * Version matrix, n8n 1.x leg (a smoke test, to keep `npm test` within CI's time): the newest
 * n8n 1.x that installs from the npm registry, on Node 22. The package loads as a community
 * package; the Dynamics 365 → Campaign template converges on the initial load and on an
 * incremental change made after every token expired (n8n 1.x hands the 401 back to the node);
 * a refused record stays on the success output, where n8n 1.x leaves `{ error, details }` items;
 * the other two templates import and run.
 */
import { N8N_MATRIX } from '../../sandbox/n8n/install-runtime';
import { describeTemplatesInN8n } from '../support/template-suite';

describeTemplatesInN8n({
	n8nVersion: N8N_MATRIX.newest1x,
	scenarios: ['package', 'initialLoad', 'incremental', 'errorOutput', 'emailEvents', 'optInOut'],
});
