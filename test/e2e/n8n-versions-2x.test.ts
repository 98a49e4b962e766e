/**
 * Version matrix, newest 2.x leg: the newest n8n 2.x that installs from the npm registry (newer
 * than the pinned release every other end-to-end test runs). The package loads as a community
 * package, the three templates import and run, and Dynamics 365 → Campaign converges on the
 * initial load, on an incremental change after every token expired, and around a refused record.
 */
import { N8N_MATRIX, N8N_VERSION } from '../../sandbox/n8n/install-runtime';
import { describeTemplatesInN8n } from '../support/template-suite';

const newest2x = N8N_MATRIX.newest;

it('the newest 2.x in the matrix is newer than the pinned release', () => {
	const parts = (version: string) => version.split('.').map(Number);
	const newer = parts(newest2x).findIndex((part, i) => part !== parts(N8N_VERSION)[i]);
	expect(newer).toBeGreaterThanOrEqual(0);
	expect(parts(newest2x)[newer]).toBeGreaterThan(parts(N8N_VERSION)[newer]);
});

describeTemplatesInN8n({
	n8nVersion: newest2x,
	scenarios: ['package', 'initialLoad', 'incremental', 'errorOutput', 'emailEvents', 'optInOut'],
});
