/**
 * The Web API itself, independent of HTTP plumbing so `$batch` parts run through the same code as
 * plain requests: entity sets, single records by id or alternate key, writes, functions, metadata.
 */
import type { Reply } from '../common/server';
import type { DataverseBehavior } from './admin';
import {
	attributeUrl,
	createAttribute,
	createEntity,
	createKey,
	entityUrl,
	keyIndexStatus,
	keyUrl,
} from './customize';
import { metadataRequest } from './metadata';
import {
	API_PATH,
	parsePrefer,
	parseSelect,
	QueryEngine,
	rowFilter,
	type Preferences,
} from './query';
import {
	annotationFilter,
	checkStateStatus,
	convertValue,
	isGuid,
	readPayload,
	renderRow,
	type ContentIdResolver,
} from './records';
import {
	DEFAULT_KEY_INDEX_DELAY_MS,
	Store,
	StoreError,
	notFound,
	type Row,
	type TableState,
} from './store';

export interface ApiRequest {
	method: string;
	/** Path after `/api/data/v9.2/`, still percent-encoded. */
	path: string;
	query: URLSearchParams;
	/** Lower-case header names. */
	headers: Record<string, string | undefined>;
	body: string;
	baseUrl: string;
	resolveContentId?: ContentIdResolver;
}

export interface Identity {
	userId: string;
	businessUnitId: string;
	organizationId: string;
}

export const JSON_TYPE = 'application/json; odata.metadata=minimal';
const ODATA_HEADERS = { 'OData-Version': '4.0' };

export function errorReply(status: number, code: string, message: string): Reply {
	return {
		status,
		headers: { ...ODATA_HEADERS, 'Content-Type': 'application/json; charset=utf-8' },
		body: { error: { code, message } },
	};
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
	return { status, headers: { ...ODATA_HEADERS, 'Content-Type': JSON_TYPE, ...headers }, body };
}

/** Characters an alternate-key value cannot hold in a key URL (define-alternate-keys-entity.md). */
const KEY_URL_REFUSED = /[/<>*%&:\\?+]/;

type Target = { id: string } | { keyName: string; values: Row; text: string };

export class DataverseApi {
	readonly engine: QueryEngine;
	private behaviorSettings: DataverseBehavior = {};

	constructor(
		public store: Store,
		readonly identity: Identity,
	) {
		this.engine = new QueryEngine(store, () => this.behaviorSettings);
	}

	setStore(store: Store): void {
		this.store = store;
		store.dateTimePrecision = this.behaviorSettings.dateTimePrecision ?? 'seconds';
		store.keyIndexDelayMs = this.behaviorSettings.keyIndexDelayMs ?? DEFAULT_KEY_INDEX_DELAY_MS;
		(this.engine as unknown as { store: Store }).store = store;
		this.engine.clear();
	}

	get behavior(): DataverseBehavior {
		return this.behaviorSettings;
	}

	set behavior(behavior: DataverseBehavior) {
		this.behaviorSettings = { ...behavior };
		this.store.dateTimePrecision = behavior.dateTimePrecision ?? 'seconds';
		this.store.keyIndexDelayMs = behavior.keyIndexDelayMs ?? DEFAULT_KEY_INDEX_DELAY_MS;
	}

	/** Counts down a numbered behaviour; true while it lasts. */
	takeBehavior(name: 'concurrentKeyCreates' | 'lostBatchAnswers'): boolean {
		const left = this.behaviorSettings[name] ?? 0;
		if (left <= 0) return false;
		this.behaviorSettings[name] = left - 1;
		return true;
	}

	/** Runs one Web API request; errors come back as Dataverse error replies, never as throws. */
	execute(req: ApiRequest): Reply {
		try {
			return this.dispatch(req);
		} catch (error) {
			if (error instanceof StoreError) return errorReply(error.status, error.code, error.message);
			throw error;
		}
	}

	private dispatch(req: ApiRequest): Reply {
		let path: string;
		try {
			path = decodeURIComponent(req.path);
		} catch {
			throw new StoreError(
				400,
				'0x80060888',
				`Bad Request - Error in query syntax: '${req.path}'.`,
			);
		}
		const prefs = parsePrefer(req.headers['prefer']);
		const method = req.method;
		if (path === '' && method === 'GET') return this.serviceDocument(req.baseUrl);
		if (/^WhoAmI(\(\))?$/.test(path) && method === 'GET') {
			return json(200, {
				'@odata.context': `${req.baseUrl}${API_PATH}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
				BusinessUnitId: this.identity.businessUnitId,
				UserId: this.identity.userId,
				OrganizationId: this.identity.organizationId,
			});
		}
		const count = /^RetrieveTotalRecordCount\((.*)\)$/.exec(path);
		if (count && method === 'GET') return this.totalRecordCount(count[1], req);
		if (path.startsWith('EntityDefinitions')) {
			if (method === 'POST') return this.customize(path, req);
			if (method !== 'GET')
				throw new StoreError(
					405,
					'0x80060888',
					'Only GET and POST are supported on EntityDefinitions in this sandbox.',
				);
			return json(
				200,
				metadataRequest(this.store, path.slice('EntityDefinitions'.length), req.query, req.baseUrl),
			);
		}
		const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?(\/\$count)?$/.exec(path);
		const state = match ? this.store.bySetName(match[1]) : undefined;
		if (!match || !state) {
			throw new StoreError(
				404,
				'0x80060888',
				`Resource not found for the segment '${path.split(/[(/]/)[0]}'.`,
			);
		}
		const keyText = match[2];
		if (match[3]) {
			if (method !== 'GET' || keyText !== undefined) throw methodNotAllowed(method, path);
			return this.countRows(state, req.query);
		}
		if (keyText === undefined) {
			if (method === 'GET') {
				const { body, headers } = this.engine.retrieveMultiple(
					state,
					req.query,
					prefs,
					req.baseUrl,
				);
				return json(200, body, headers);
			}
			if (method === 'POST') return this.create(state, req, prefs);
			throw methodNotAllowed(method, path);
		}
		const target = this.parseTarget(state, keyText);
		switch (method) {
			case 'GET':
				return this.retrieve(state, target, req, prefs);
			case 'PATCH':
				return this.upsert(state, target, req, prefs);
			case 'DELETE':
				return this.remove(state, target, req);
			default:
				throw methodNotAllowed(method, path);
		}
	}

	/** Creates a table, a column or an alternate key (see customize.ts). */
	private customize(path: string, req: ApiRequest): Reply {
		let body: unknown;
		try {
			body = JSON.parse(req.body || '{}');
		} catch {
			throw new StoreError(400, '0x80048d19', 'The request body is not valid JSON.');
		}
		if (!body || typeof body !== 'object' || Array.isArray(body)) {
			throw new StoreError(400, '0x80048d19', 'The request body must be a JSON object.');
		}
		const json = body as Record<string, unknown>;
		const base = `${req.baseUrl}${API_PATH}`;
		const created = (url: string): Reply => {
			this.engine.clear();
			return { status: 204, headers: { 'OData-Version': '4.0', 'OData-EntityId': url } };
		};
		if (path === 'EntityDefinitions') {
			return created(entityUrl(base, createEntity(this.store, json).table));
		}
		const match =
			/^EntityDefinitions\((?:LogicalName='([^']*)'|([0-9a-fA-F-]{36}))\)\/(Attributes|Keys)$/.exec(
				path,
			);
		if (!match) throw methodNotAllowed('POST', path);
		const state = [...this.store.tables.values()].find((t) =>
			match[1] ? t.table.logicalName === match[1] : t.table.metadataId === match[2].toLowerCase(),
		);
		if (!state) {
			throw new StoreError(
				404,
				'0x80040217',
				`Could not find entity with logical name '${match[1] ?? match[2]}'.`,
			);
		}
		if (match[3] === 'Attributes') {
			const column = createAttribute(this.store, state, json);
			return created(attributeUrl(base, this.store.table(state.table.logicalName)!.table, column));
		}
		const key = createKey(this.store, state, json, Date.now());
		return created(keyUrl(base, state.table, key));
	}

	private serviceDocument(baseUrl: string): Reply {
		const value = [...this.store.tables.values()].map((s) => ({
			name: s.table.entitySetName,
			kind: 'EntitySet',
			url: s.table.entitySetName,
		}));
		return json(200, { '@odata.context': `${baseUrl}${API_PATH}$metadata`, value });
	}

	private totalRecordCount(args: string, req: ApiRequest): Reply {
		let list = /EntityNames=(.*)$/.exec(args)?.[1] ?? '';
		if (list.startsWith('@')) list = req.query.get(list) ?? '';
		const names = [...list.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2]);
		const values = names.map((name) => {
			const state = this.store.table(name);
			if (!state)
				throw new StoreError(
					404,
					'0x80040217',
					`Could not find entity with logical name '${name}'.`,
				);
			return state.reportedCount ?? state.rows.size;
		});
		return json(200, {
			'@odata.context': `${req.baseUrl}${API_PATH}$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse`,
			EntityRecordCountCollection: {
				Count: names.length,
				IsReadOnly: false,
				Keys: names,
				Values: values,
			},
		});
	}

	private countRows(state: TableState, query: URLSearchParams): Reply {
		const filter = query.get('$filter');
		let n = 0;
		if (filter) {
			const predicate = rowFilter(state.table, filter);
			for (const row of state.rows.values()) if (predicate(row)) n++;
		} else n = state.rows.size;
		// Same cap as @odata.count; the UTF-8 BOM is what Dataverse sends before the number.
		return {
			status: 200,
			headers: { ...ODATA_HEADERS, 'Content-Type': 'text/plain' },
			body: `\ufeff${Math.min(n, 5000)}`,
		};
	}

	/** `(guid)` or `(key1='a',key2=2)` → a target. */
	parseTarget(state: TableState, text: string): Target {
		const trimmed = text.trim().replace(/^\{(.*)\}$/, '$1');
		if (isGuid(trimmed)) return { id: trimmed.toLowerCase() };
		const table = state.table;
		const values: Row = {};
		let i = 0;
		const fail = (): never => {
			throw new StoreError(
				400,
				'0x80060888',
				`Bad Request - Error in query syntax: the key '${text}' of '${table.entitySetName}' is not valid.`,
			);
		};
		while (i < text.length) {
			const name = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*/.exec(text.slice(i));
			if (!name) fail();
			i += name![0].length;
			let value: unknown;
			if (text[i] === "'") {
				let s = '';
				i++;
				for (;;) {
					if (i >= text.length) fail();
					if (text[i] === "'") {
						if (text[i + 1] === "'") {
							s += "'";
							i += 2;
							continue;
						}
						i++;
						break;
					}
					s += text[i++];
				}
				value = s;
			} else {
				const literal = /^[^,]+/.exec(text.slice(i));
				if (!literal) fail();
				i += literal![0].length;
				const raw = literal![0].trim();
				value =
					raw === 'null'
						? null
						: raw === 'true'
							? true
							: raw === 'false'
								? false
								: isGuid(raw)
									? raw.toLowerCase()
									: Number(raw);
				if (typeof value === 'number' && Number.isNaN(value)) fail();
			}
			values[name![1]] = value;
			const comma = /^\s*,\s*/.exec(text.slice(i));
			if (comma) i += comma[0].length;
			else if (i < text.length) fail();
		}
		for (const [name, value] of Object.entries(values)) {
			const refused = typeof value === 'string' ? KEY_URL_REFUSED.exec(value) : null;
			if (refused) {
				// define-alternate-keys-entity.md: retrieve, update and upsert by a key value holding
				// one of these characters "don't work"; the exact answer is not documented.
				throw new StoreError(
					400,
					'0x80060888',
					`Bad Request - Error in query syntax: the value of the key attribute '${name}' contains '${refused[0]}', which cannot be used in a key URL (/ < > * % & : \\ ? +).`,
				);
			}
		}
		const names = Object.keys(values).sort();
		const key = table.keys.find((k) => [...k.attributes].sort().join(',') === names.join(','));
		if (!key) {
			throw new StoreError(
				400,
				'0x80060888',
				`The key with attributes (${names.join(', ')}) is not defined as an alternate key of entity '${table.logicalName}'.`,
			);
		}
		const status = keyIndexStatus(key, Date.now(), this.store.keyIndexDelayMs);
		if (status !== 'Active') {
			// Microsoft documents the statuses, not this answer (an assumption: sandbox/README.md).
			throw new StoreError(
				400,
				'0x80060888',
				`The alternate key '${key.logicalName}' of entity '${table.logicalName}' cannot be used: its index is ${status}.`,
			);
		}
		const converted: Row = {};
		for (const attribute of key.attributes) {
			converted[attribute] = convertValue(
				table,
				table.columnsByName.get(attribute)!,
				values[attribute],
			);
		}
		return { keyName: key.logicalName, values: converted, text };
	}

	private find(state: TableState, target: Target): Row | undefined {
		if ('id' in target) return state.rows.get(target.id);
		return this.store.findByKey(state, target.keyName, target.values);
	}

	private notFoundFor(state: TableState, target: Target): StoreError {
		if ('id' in target) return notFound(state.table.logicalName, target.id);
		return new StoreError(
			404,
			'0x80040217',
			`A record with the specified key values does not exist in ${state.table.logicalName} entity`,
		);
	}

	private entityUrl(req: ApiRequest, state: TableState, key: string): string {
		return `${req.baseUrl}${API_PATH}${state.table.entitySetName}(${key})`;
	}

	private representation(
		state: TableState,
		row: Row,
		req: ApiRequest,
		prefs: Preferences,
	): Record<string, unknown> {
		const columns = parseSelect(state.table, req.query.get('$select'));
		const selectPart = columns ? `(${req.query.get('$select')})` : '';
		return {
			'@odata.context': `${req.baseUrl}${API_PATH}$metadata#${state.table.entitySetName}${selectPart}/$entity`,
			...renderRow(
				this.store,
				state.table,
				row,
				columns,
				annotationFilter(prefs.includeAnnotations),
			),
		};
	}

	private retrieve(state: TableState, target: Target, req: ApiRequest, prefs: Preferences): Reply {
		const row = this.find(state, target);
		if (!row) throw this.notFoundFor(state, target);
		const etag = `W/"${String(row.versionnumber)}"`;
		// Annotations may come from related rows, so a request for them never answers 304
		// (webapi/perform-conditional-operations-using-web-api.md).
		if (req.headers['if-none-match'] === etag && !prefs.includeAnnotations)
			return { status: 304, headers: { ...ODATA_HEADERS, ETag: etag } };
		const headers: Record<string, string> = { ETag: etag };
		if (prefs.includeAnnotations)
			headers['Preference-Applied'] = `odata.include-annotations="${prefs.includeAnnotations}"`;
		return json(200, this.representation(state, row, req, prefs), headers);
	}

	private parseBody(req: ApiRequest, state: TableState): unknown {
		if (req.body.trim() === '') return {};
		try {
			return JSON.parse(req.body);
		} catch (error) {
			throw new StoreError(
				400,
				'0x80048d19',
				`Error identified in Payload provided by the user for Entity :'${state.table.entitySetName}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: Invalid JSON. ${String((error as Error).message)}`,
			);
		}
	}

	private create(state: TableState, req: ApiRequest, prefs: Preferences): Reply {
		const changes = readPayload(
			this.store,
			state,
			this.parseBody(req, state),
			req.resolveContentId,
		);
		const row = this.store.transaction(() => {
			const inserted = this.store.insert(state, changes);
			checkStateStatus(state.table, inserted);
			return inserted;
		});
		const id = row[state.table.primaryIdAttribute] as string;
		const url = this.entityUrl(req, state, id);
		if (prefs.returnRepresentation) {
			return json(201, this.representation(state, row, req, prefs), {
				'Preference-Applied': 'return=representation',
				ETag: `W/"${String(row.versionnumber)}"`,
			});
		}
		return { status: 204, headers: { ...ODATA_HEADERS, 'OData-EntityId': url, Location: url } };
	}

	/**
	 * `If-Match: *` (no create), `If-Match: <etag>` (optimistic concurrency) and
	 * `If-None-Match: *` (no update), with the answers of
	 * webapi/perform-conditional-operations-using-web-api.md (where the error code is empty).
	 */
	private checkPreconditions(
		state: TableState,
		target: Target,
		existing: Row | undefined,
		req: ApiRequest,
	): void {
		const ifMatch = req.headers['if-match'];
		if (ifMatch !== undefined) {
			if (!existing) {
				if ('id' in target) {
					throw new StoreError(
						404,
						'',
						`${state.table.logicalName} With Id = ${target.id} Does Not Exist`,
					);
				}
				throw this.notFoundFor(state, target);
			}
			const tags = ifMatch.split(',').map((t) => t.trim());
			if (!tags.includes('*') && !tags.includes(`W/"${String(existing.versionnumber)}"`)) {
				throw new StoreError(
					412,
					'',
					"The version of the existing record doesn't match the RowVersion property provided.",
				);
			}
		}
		if (req.headers['if-none-match'] === '*' && existing) {
			throw new StoreError(412, '', 'A record with matching key values already exists.');
		}
	}

	private upsert(state: TableState, target: Target, req: ApiRequest, prefs: Preferences): Reply {
		const existing = this.find(state, target);
		this.checkPreconditions(state, target, existing, req);
		const changes = readPayload(
			this.store,
			state,
			this.parseBody(req, state),
			req.resolveContentId,
		);
		const pk = state.table.primaryIdAttribute;
		if (
			!existing &&
			!('id' in target) &&
			req.headers['if-match'] === undefined &&
			this.takeBehavior('concurrentKeyCreates')
		) {
			// Another request (the first attempt of a replayed batch) commits the same row first.
			this.store.outside(() => this.store.insert(state, { ...target.values, ...changes }));
		}
		const row = this.store.transaction(() => {
			let written: Row;
			if (existing) {
				if (!('id' in target))
					for (const attribute of Object.keys(target.values)) delete changes[attribute];
				written = this.store.update(state, existing[pk] as string, changes);
			} else if ('id' in target) {
				written = this.store.insert(state, { ...changes, [pk]: target.id });
			} else {
				written = this.store.insert(state, { ...target.values, ...changes });
			}
			checkStateStatus(state.table, written);
			return written;
		});
		const url = this.entityUrl(req, state, 'id' in target ? target.id : target.text);
		if (prefs.returnRepresentation) {
			return json(existing ? 200 : 201, this.representation(state, row, req, prefs), {
				'Preference-Applied': 'return=representation',
				ETag: `W/"${String(row.versionnumber)}"`,
			});
		}
		return { status: 204, headers: { ...ODATA_HEADERS, 'OData-EntityId': url } };
	}

	private remove(state: TableState, target: Target, req: ApiRequest): Reply {
		const row = this.find(state, target);
		if (!row) throw this.notFoundFor(state, target);
		if (req.headers['if-match'] !== undefined) this.checkPreconditions(state, target, row, req);
		this.store.remove(state, row[state.table.primaryIdAttribute] as string);
		return { status: 204, headers: { ...ODATA_HEADERS } };
	}
}

function methodNotAllowed(method: string, path: string): StoreError {
	return new StoreError(
		405,
		'0x80060888',
		`The HTTP method '${method}' is not allowed for the resource '${path}'.`,
	);
}
