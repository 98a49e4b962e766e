/**
 * Version matrix, oldest leg (a smoke test): the oldest n8n the package supports, 1.85, where
 * `n8n-workflow` first exports `NodeConnectionTypes`. API keys there have no scopes, workflows are
 * activated rather than published, there is no poll time budget. The package loads as a community
 * package, and the Dynamics 365 → Campaign template converges on the initial load and on an
 * incremental change made after every token expired.
 */
import { N8N_MATRIX } from '../../sandbox/n8n/install-runtime';
import { describeTemplatesInN8n } from '../support/template-suite';

describeTemplatesInN8n({
	n8nVersion: N8N_MATRIX.oldest,
	scenarios: ['package', 'initialLoad', 'incremental'],
});
