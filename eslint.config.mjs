// n8n's community-node rules (as n8n's own node CLI sets them up) for the published code, and the
// TypeScript recommendations everywhere. The sandbox, tests and benchmarks are not published, so
// they may use timers, process and the file system.
import js from '@eslint/js';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';
import tseslint from 'typescript-eslint';

const communityRecommended = n8nCommunityNodesPlugin.configs.recommended;

export default tseslint.config(
	{ ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
	{
		files: ['**/*.ts'],
		extends: [js.configs.recommended, tseslint.configs.recommended],
		rules: {
			'prefer-spread': 'off',
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
		},
	},
	{
		// Tests depend on the rest, never the other way round: what tests share with the sandbox,
		// the benchmarks and tools lives in sandbox/harness/.
		files: ['**/*.ts'],
		ignores: ['test/**'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							regex: '^(\\.\\./)+test(/|$)',
							message: 'Only tests import from test/; move what is shared to sandbox/harness/.',
						},
					],
				},
			],
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'lib/**/*.ts'],
		extends: [communityRecommended],
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: { 'no-console': 'error' },
	},
	{
		files: ['package.json'],
		extends: [communityRecommended],
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: { ...n8nNodesBase.configs.community.rules },
		languageOptions: {
			parser: tseslint.parser,
			parserOptions: { extraFileExtensions: ['.json'] },
		},
	},
	{
		files: ['credentials/**/*.ts'],
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		rules: {
			...n8nNodesBase.configs.nodes.rules,
			'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
			'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
			'n8n-nodes-base/node-param-type-options-max-value-present': 'off',
		},
	},
	{
		// The layers under the nodes know nothing of n8n (only the nodes and the transport seam,
		// lib/http, do) and nothing of the nodes.
		files: [
			'lib/flows/**/*.ts',
			'lib/sync/**/*.ts',
			'lib/state/**/*.ts',
			'lib/dynamics/**/*.ts',
			'lib/campaign/**/*.ts',
		],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							group: ['n8n-workflow', 'n8n-core'],
							message:
								'lib/ below the transport knows no n8n types: keep them in nodes/ or lib/http.',
						},
						{
							group: ['**/nodes/**'],
							message: 'The layers go one way: nodes use lib/, lib/ never uses nodes/.',
						},
						// A later block's rule replaces an earlier one's: the test/ rule, again.
						{
							regex: '^(\\.\\./)+test(/|$)',
							message: 'Only tests import from test/; move what is shared to sandbox/harness/.',
						},
					],
				},
			],
		},
	},
);
