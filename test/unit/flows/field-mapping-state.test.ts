import { MAPPING_LOCK, TABLE_CLAIMS } from '../../../lib/flows/field-mapping';
import { loadState, saveState } from '../../../lib/state/store';

const lock = {
	table: 'contact',
	campaignResource: 'profile',
	dynamicsKey: 'contactid',
	campaignKey: 'externalId',
};

describe("Apply Field Mapping's kept state", () => {
	it('reads a lock stored before states had versions, and stores it with version 1', () => {
		const bag: Record<string, unknown> = { mappingLock: { ...lock } };
		expect(loadState(bag, MAPPING_LOCK)).toEqual(lock);
		saveState(bag, MAPPING_LOCK, lock);
		expect(bag.mappingLock).toEqual({ ...lock, version: 1 });
		expect(loadState(bag, MAPPING_LOCK)).toEqual(lock);
	});

	it('refuses a lock of a newer version instead of comparing its fields', () => {
		expect(() => loadState({ mappingLock: { ...lock, version: 2 } }, MAPPING_LOCK)).toThrow(
			"Apply Field Mapping's saved tables and keys has version 2, written by a newer version of this package. Update the package on this n8n.",
		);
	});

	it('refuses a lock that lacks a table or key, naming what to do', () => {
		const partial = { table: 'contact', campaignResource: 'profile', dynamicsKey: 'contactid' };
		for (const stored of [partial, { ...lock, table: 7 }, 'contact', [lock]]) {
			expect(() => loadState({ mappingLock: stored }, MAPPING_LOCK)).toThrow(
				/saved tables and keys is unreadable\. Delete this chain of nodes and add a new mapping/,
			);
		}
	});

	it("reads the workflow's table claims stored before versions, and refuses malformed ones", () => {
		const claims = { dynamics: { contact: 'Map A' }, campaign: { profile: 'Map A' } };
		expect(loadState({ tableMappings: claims }, TABLE_CLAIMS)).toEqual(claims);
		expect(() =>
			loadState({ tableMappings: { dynamics: { contact: 1 }, campaign: {} } }, TABLE_CLAIMS),
		).toThrow(/which Apply Field Mapping node maps which table is unreadable/);
		expect(() => loadState({ tableMappings: { dynamics: {} } }, TABLE_CLAIMS)).toThrow(
			/unreadable/,
		);
	});
});
