/**
 * The three shipped templates in the pinned n8n release, every scenario of the template suite
 * (test/support/template-suite.ts): initial load, incremental changes after expired tokens, a
 * refused record on the error output, replay, a refused replay, a failed execution retried through
 * the public API,
 * email events exactly once, opt-in/out convergence.
 */
import { describeTemplatesInN8n } from '../support/template-suite';

describeTemplatesInN8n({
	scenarios: [
		'initialLoad',
		'incremental',
		'errorOutput',
		'replay',
		'replayRefused',
		'retry',
		'emailEvents',
		'optInOut',
	],
});
