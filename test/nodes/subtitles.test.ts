/**
 * The subtitle under each node on the canvas, resolved by n8n's own expression engine from the
 * node's parameters, as the editor resolves it: resource locators and the plain names of older
 * workflows alike. (The browser check reads the same subtitles on the canvas of each template.)
 */
import { Workflow, type INode, type INodeParameters, type INodeTypes } from 'n8n-workflow';

import { nodeTypes } from '../../sandbox/harness/node-types';

const TYPES = nodeTypes();

const registry = {
	getByName: (type: string) => TYPES[type],
	getByNameAndVersion: (type: string) => TYPES[type],
	getKnownTypes: () => ({}),
} as unknown as INodeTypes;

async function subtitle(type: string, parameters: INodeParameters): Promise<unknown> {
	const node: INode = {
		id: 'subtitle',
		name: 'Node',
		type,
		typeVersion: 1,
		position: [0, 0],
		parameters,
	};
	const workflow = new Workflow({
		nodes: [node],
		connections: {},
		active: false,
		nodeTypes: registry,
	});
	const expression = String(TYPES[type].description.subtitle);
	await workflow.expression.acquireIsolate?.();
	try {
		return expression.startsWith('=')
			? workflow.expression.getSimpleParameterValue(node, expression, 'internal', {})
			: expression;
	} finally {
		await workflow.expression.releaseIsolate?.();
	}
}

const fromList = (value: string) => ({ __rl: true, mode: 'list', value, cachedResultName: value });
const rules = (count: number) => ({ rule: Array.from({ length: count }, () => ({ field: 'x' })) });

describe('Subtitles on the canvas', () => {
	it('names the table of the trigger, chosen from the list or typed in an older workflow', async () => {
		expect(await subtitle('dynamicsTrigger', { table: fromList('contact') })).toBe(
			'Table: contact',
		);
		expect(await subtitle('dynamicsTrigger', { table: 'contact' })).toBe('Table: contact');
	});

	it('names the pair of tables of a mapping', async () => {
		const chosen = { table: fromList('contact'), campaignResource: fromList('profile') };
		expect(await subtitle('applyFieldMapping', chosen)).toBe('contact → profile');
		const plain = { table: 'new_loyaltycard', campaignResource: 'cusLoyaltyCard' };
		expect(await subtitle('applyFieldMapping', plain)).toBe('new_loyaltycard → cusLoyaltyCard');
	});

	it('counts the filters and says how they combine', async () => {
		expect(await subtitle('recordFilter', { rules: {}, combinator: 'and' })).toBe('No Filters');
		expect(await subtitle('recordFilter', { rules: rules(1), combinator: 'or' })).toBe('1 Filter');
		expect(await subtitle('recordFilter', { rules: rules(2), combinator: 'and' })).toBe(
			'All of 2 Filters',
		);
		expect(await subtitle('recordFilter', { rules: rules(3), combinator: 'or' })).toBe(
			'Any of 3 Filters',
		);
	});

	it('counts the replacements', async () => {
		const replacements = (count: number) => ({
			replacement: Array.from({ length: count }, () => ({ field: 'x' })),
		});
		expect(await subtitle('fieldReplacement', { replacements: {} })).toBe('No Replacements');
		expect(await subtitle('fieldReplacement', { replacements: replacements(1) })).toBe(
			'1 Replacement',
		);
		expect(await subtitle('fieldReplacement', { replacements: replacements(4) })).toBe(
			'4 Replacements',
		);
	});

	it('says where the email events come from', async () => {
		expect(await subtitle('emailEventsExport', { source: 'campaign' })).toBe(
			'Campaign → Dynamics 365',
		);
		expect(await subtitle('emailEventsExport', { source: 'input' })).toBe(
			'Input Items → Dynamics 365',
		);
	});

	it.each([
		['disabled', 'Direction: Disabled'],
		['campaignToDynamics', 'Direction: Campaign → Dynamics 365'],
		['dynamicsToCampaign', 'Direction: Dynamics 365 → Campaign'],
		['bidirectional', 'Direction: Bidirectional'],
	])('says the opt-in/out direction %s', async (direction, expected) => {
		expect(await subtitle('optInOutSync', { direction })).toBe(expected);
	});

	it('says what Campaign Upsert does', async () => {
		expect(await subtitle('campaignUpsert', { concurrency: 20 })).toBe('Create, Update or Delete');
	});
});
