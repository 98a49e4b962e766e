/**
 * A tokenizer, parser and evaluator for the part of OData `$filter` that Dataverse supports and
 * our clients use: comparisons, and/or/not, parentheses, contains/startswith/endswith (with
 * Dataverse's SQL LIKE wildcards), null, and typed literals. Errors carry Dataverse's messages.
 */
import { sqlGuidKey } from './guid';

export type LiteralType =
	'string' | 'integer' | 'decimal' | 'boolean' | 'null' | 'guid' | 'datetime' | 'date' | 'enum';

/** What a property holds, for type checks and comparisons. */
export type ValueKind = 'string' | 'number' | 'boolean' | 'guid' | 'datetime' | 'any';

export interface BoundProperty {
	kind: ValueKind;
	/** Edm type name for error messages. */
	edmType: string;
	get(row: unknown): unknown;
}

export type PropertyResolver = (path: string, position: number) => BoundProperty;

export class FilterError extends Error {}

interface Token {
	type: 'lparen' | 'rparen' | 'comma' | 'literal' | 'word' | 'eof';
	text: string;
	pos: number;
	literalType?: LiteralType;
	value?: unknown;
}

const GUID =
	/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const DATETIME =
	/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})(?![\w:.+-])/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\w:.+-])/;
const NUMBER = /^-?\d+(\.\d+)?(?:[eE][+-]?\d+)?([mMdDfFlL])?(?![\w.])/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*(?:[./][A-Za-z_][A-Za-z0-9_]*)*/;

function tokenize(text: string): Token[] {
	const tokens: Token[] = [];
	let i = 0;
	while (i < text.length) {
		const ch = text[i];
		if (/\s/.test(ch)) {
			i++;
			continue;
		}
		if (ch === '(' || ch === ')' || ch === ',') {
			tokens.push({
				type: ch === '(' ? 'lparen' : ch === ')' ? 'rparen' : 'comma',
				text: ch,
				pos: i,
			});
			i++;
			continue;
		}
		if (ch === "'") {
			const start = i;
			let value = '';
			i++;
			for (;;) {
				if (i >= text.length) {
					throw new FilterError(
						`There is an unterminated literal at position ${start} in '${text}'.`,
					);
				}
				if (text[i] === "'") {
					if (text[i + 1] === "'") {
						value += "'";
						i += 2;
						continue;
					}
					i++;
					break;
				}
				value += text[i++];
			}
			tokens.push({
				type: 'literal',
				literalType: 'string',
				value,
				text: text.slice(start, i),
				pos: start,
			});
			continue;
		}
		const rest = text.slice(i);
		let m: RegExpExecArray | null;
		if ((m = GUID.exec(rest))) {
			tokens.push({
				type: 'literal',
				literalType: 'guid',
				value: m[0].toLowerCase(),
				text: m[0],
				pos: i,
			});
		} else if ((m = DATETIME.exec(rest))) {
			tokens.push({ type: 'literal', literalType: 'datetime', value: m[0], text: m[0], pos: i });
		} else if ((m = DATE.exec(rest))) {
			tokens.push({ type: 'literal', literalType: 'date', value: m[0], text: m[0], pos: i });
		} else if ((m = NUMBER.exec(rest))) {
			const decimal = Boolean(m[1]) || /[mMdDfF]/.test(m[2] ?? '') || /[eE]/.test(m[0]);
			tokens.push({
				type: 'literal',
				literalType: decimal ? 'decimal' : 'integer',
				value: Number(m[0].replace(/[mMdDfFlL]$/, '')),
				text: m[0],
				pos: i,
			});
		} else if ((m = WORD.exec(rest))) {
			const word = m[0];
			const after = text.slice(i + word.length);
			// Enum literal, e.g. Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'
			const enumMatch = /^'([^']*)'/.exec(after);
			if (enumMatch && word.includes('.')) {
				tokens.push({
					type: 'literal',
					literalType: 'enum',
					value: enumMatch[1],
					text: word + enumMatch[0],
					pos: i,
				});
				i += word.length + enumMatch[0].length;
				continue;
			}
			if (word === 'null') {
				tokens.push({ type: 'literal', literalType: 'null', value: null, text: word, pos: i });
			} else if (word === 'true' || word === 'false') {
				tokens.push({
					type: 'literal',
					literalType: 'boolean',
					value: word === 'true',
					text: word,
					pos: i,
				});
			} else {
				tokens.push({ type: 'word', text: word, pos: i });
			}
		} else {
			throw new FilterError(
				`Syntax error: character '${ch}' is not valid at position ${i} in '${text}'.`,
			);
		}
		i += m[0].length;
	}
	tokens.push({ type: 'eof', text: '', pos: text.length });
	return tokens;
}

export type Operand =
	| { kind: 'property'; path: string; pos: number }
	| { kind: 'literal'; type: LiteralType; value: unknown; text: string; pos: number };

export type FilterNode =
	| { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
	| { kind: 'not'; operand: FilterNode }
	| { kind: 'compare'; op: CompareOp; left: Operand; right: Operand; pos: number }
	| { kind: 'function'; name: StringFunction; property: Operand; argument: Operand; pos: number }
	| { kind: 'boolProperty'; property: Operand };

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type StringFunction = 'contains' | 'startswith' | 'endswith';
const COMPARE_OPS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const STRING_FUNCTIONS = new Set(['contains', 'startswith', 'endswith']);

/** Parses a `$filter` expression into a tree. */
export function parseFilter(text: string): FilterNode {
	const tokens = tokenize(text);
	let index = 0;
	const peek = () => tokens[index];
	const next = () => tokens[index++];
	const syntaxError = (token: Token): never => {
		throw new FilterError(`Syntax error at position ${token.pos} in '${text}'.`);
	};
	const expect = (type: Token['type']) => {
		const token = next();
		if (token.type !== type) syntaxError(token);
		return token;
	};

	const parseOperand = (): Operand => {
		const token = next();
		if (token.type === 'literal') {
			return {
				kind: 'literal',
				type: token.literalType!,
				value: token.value,
				text: token.text,
				pos: token.pos,
			};
		}
		if (
			token.type === 'word' &&
			!COMPARE_OPS.has(token.text) &&
			!['and', 'or', 'not'].includes(token.text)
		) {
			return { kind: 'property', path: token.text, pos: token.pos };
		}
		return syntaxError(token);
	};

	const parsePrimary = (): FilterNode => {
		const token = peek();
		if (token.type === 'lparen') {
			next();
			const inner = parseOr();
			expect('rparen');
			return inner;
		}
		if (token.type === 'word' && tokens[index + 1]?.type === 'lparen') {
			const name = token.text;
			if (!STRING_FUNCTIONS.has(name.toLowerCase())) {
				throw new FilterError(
					`An unknown function with name '${name}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.`,
				);
			}
			next();
			next();
			const property = parseOperand();
			expect('comma');
			const argument = parseOperand();
			expect('rparen');
			return {
				kind: 'function',
				name: name.toLowerCase() as StringFunction,
				property,
				argument,
				pos: token.pos,
			};
		}
		const left = parseOperand();
		const opToken = peek();
		if (opToken.type === 'word' && COMPARE_OPS.has(opToken.text)) {
			next();
			const right = parseOperand();
			return { kind: 'compare', op: opToken.text as CompareOp, left, right, pos: opToken.pos };
		}
		if (left.kind === 'property') return { kind: 'boolProperty', property: left };
		return syntaxError(opToken);
	};

	const parseUnary = (): FilterNode => {
		const token = peek();
		if (token.type === 'word' && token.text === 'not') {
			next();
			return { kind: 'not', operand: parseUnary() };
		}
		return parsePrimary();
	};

	const parseAnd = (): FilterNode => {
		let left = parseUnary();
		while (peek().type === 'word' && peek().text === 'and') {
			next();
			left = { kind: 'and', left, right: parseUnary() };
		}
		return left;
	};

	function parseOr(): FilterNode {
		let left = parseAnd();
		while (peek().type === 'word' && peek().text === 'or') {
			next();
			left = { kind: 'or', left, right: parseAnd() };
		}
		return left;
	}

	if (peek().type === 'eof') syntaxError(peek());
	const tree = parseOr();
	if (peek().type !== 'eof') syntaxError(peek());
	return tree;
}

const LITERAL_EDM: Record<LiteralType, string> = {
	string: 'Edm.String',
	integer: 'Edm.Int32',
	decimal: 'Edm.Decimal',
	boolean: 'Edm.Boolean',
	null: 'null',
	guid: 'Edm.Guid',
	datetime: 'Edm.DateTimeOffset',
	date: 'Edm.Date',
	enum: 'Edm.Enum',
};

function literalFits(kind: ValueKind, type: LiteralType): boolean {
	if (type === 'null' || kind === 'any' || type === 'enum') return true;
	switch (kind) {
		case 'string':
			return type === 'string';
		case 'number':
			return type === 'integer' || type === 'decimal';
		case 'boolean':
			return type === 'boolean';
		case 'guid':
			return type === 'guid';
		case 'datetime':
			return type === 'datetime' || type === 'date';
	}
}

const OP_KIND: Record<CompareOp, string> = {
	eq: 'Equal',
	ne: 'NotEqual',
	gt: 'GreaterThan',
	ge: 'GreaterThanOrEqual',
	lt: 'LessThan',
	le: 'LessThanOrEqual',
};

function literalKind(type: LiteralType): ValueKind {
	switch (type) {
		case 'string':
		case 'enum':
			return 'string';
		case 'integer':
		case 'decimal':
			return 'number';
		case 'boolean':
			return 'boolean';
		case 'guid':
			return 'guid';
		case 'datetime':
		case 'date':
			return 'datetime';
		default:
			return 'any';
	}
}

/**
 * Comparable form of a value: lower-cased strings, GUIDs as SQL Server orders them (so `gt` on a
 * key agrees with `$orderby` on it), epoch ms for dates.
 */
function normalize(value: unknown, kind: ValueKind): unknown {
	if (value === null || value === undefined) return null;
	switch (kind) {
		case 'string':
			return String(value).toLowerCase();
		case 'guid':
			return sqlGuidKey(String(value));
		case 'datetime':
			return Date.parse(String(value));
		case 'any':
			return typeof value === 'string' ? value.toLowerCase() : value;
		default:
			return value;
	}
}

function compare(op: CompareOp, a: unknown, b: unknown): boolean {
	if (a === null || b === null) {
		if (op === 'eq') return a === b;
		if (op === 'ne') return a !== b;
		return false;
	}
	switch (op) {
		case 'eq':
			return a === b;
		case 'ne':
			return a !== b;
		case 'gt':
			return (a as number) > (b as number);
		case 'ge':
			return (a as number) >= (b as number);
		case 'lt':
			return (a as number) < (b as number);
		case 'le':
			return (a as number) <= (b as number);
	}
}

/** SQL LIKE pattern (Dataverse passes %, _ and [..] through to SQL) to a regular expression body. */
function likeToRegex(pattern: string): string {
	let out = '';
	for (let i = 0; i < pattern.length; i++) {
		const ch = pattern[i];
		if (ch === '%') out += '[\\s\\S]*';
		else if (ch === '_') out += '[\\s\\S]';
		else if (ch === '[') {
			const end = pattern.indexOf(']', i + 1);
			if (end < 0) {
				out += '\\[';
				continue;
			}
			let body = pattern.slice(i + 1, end);
			const negate = body.startsWith('^');
			if (negate) body = body.slice(1);
			out += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
			i = end;
		} else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
	}
	return out;
}

export type RowPredicate = (row: unknown) => boolean;

/** Binds a parsed filter to properties (validating names and types) and returns a predicate. */
export function compileFilter(text: string, resolve: PropertyResolver): RowPredicate {
	const tree = parseFilter(text);
	const bind = (node: FilterNode): RowPredicate => {
		switch (node.kind) {
			case 'and': {
				const l = bind(node.left);
				const r = bind(node.right);
				return (row) => l(row) && r(row);
			}
			case 'or': {
				const l = bind(node.left);
				const r = bind(node.right);
				return (row) => l(row) || r(row);
			}
			case 'not': {
				const inner = bind(node.operand);
				return (row) => !inner(row);
			}
			case 'boolProperty': {
				const property = resolve((node.property as { path: string }).path, node.property.pos);
				return (row) => property.get(row) === true;
			}
			case 'function': {
				if (node.property.kind !== 'property' || node.argument.kind !== 'literal') {
					throw new FilterError(`Syntax error at position ${node.pos} in '${text}'.`);
				}
				const property = resolve(node.property.path, node.property.pos);
				if (
					node.argument.type !== 'string' ||
					(property.kind !== 'string' && property.kind !== 'any')
				) {
					throw new FilterError(
						`No function signature for the function with name '${node.name}' matches the specified arguments. The function signatures considered are: ${node.name}(Edm.String Nullable=true, Edm.String Nullable=true).`,
					);
				}
				const body = likeToRegex(String(node.argument.value));
				const source =
					node.name === 'contains' ? body : node.name === 'startswith' ? `^${body}` : `${body}$`;
				const regex = new RegExp(source, 'i');
				return (row) => {
					const value = property.get(row);
					return typeof value === 'string' && regex.test(value);
				};
			}
			case 'compare': {
				const sides = [node.left, node.right].map((operand) => {
					if (operand.kind === 'property') {
						const bound = resolve(operand.path, operand.pos);
						return { bound, kind: bound.kind, edm: bound.edmType };
					}
					return {
						literal: operand,
						kind: literalKind(operand.type),
						edm: LITERAL_EDM[operand.type],
					};
				});
				const [left, right] = sides;
				const kind: ValueKind = left.bound ? left.kind : right.bound ? right.kind : left.kind;
				for (const [a, b] of [
					[left, right],
					[right, left],
				]) {
					if (a.bound && b.literal && !literalFits(a.kind, b.literal.type)) {
						throw new FilterError(
							`A binary operator with incompatible types was detected. Found operand types '${left.edm}' and '${right.edm}' for operator kind '${OP_KIND[node.op]}'.`,
						);
					}
				}
				if (
					left.bound &&
					right.bound &&
					left.kind !== right.kind &&
					left.kind !== 'any' &&
					right.kind !== 'any'
				) {
					throw new FilterError(
						`A binary operator with incompatible types was detected. Found operand types '${left.edm}' and '${right.edm}' for operator kind '${OP_KIND[node.op]}'.`,
					);
				}
				const getters = sides.map((side) => {
					if (side.bound) {
						const get = side.bound.get;
						return (row: unknown) => normalize(get(row), kind);
					}
					const constant = normalize(side.literal!.value, kind);
					return () => constant;
				});
				const op = node.op;
				const [gl, gr] = getters;
				return (row) => compare(op, gl(row), gr(row));
			}
		}
	};
	return bind(tree);
}

/** A resolver over plain objects (metadata): paths like `CanChangeTrackingBeEnabled/Value`. */
export function objectPathResolver(
	known?: (path: string) => boolean,
	typeName = 'object',
): PropertyResolver {
	return (path) => {
		if (known && !known(path.split('/')[0])) {
			throw new FilterError(
				`Could not find a property named '${path.split('/')[0]}' on type '${typeName}'.`,
			);
		}
		const parts = path.split('/');
		return {
			kind: 'any',
			edmType: 'Edm.Untyped',
			get(row) {
				let value: unknown = row;
				for (const part of parts) {
					if (value === null || typeof value !== 'object') return null;
					value = (value as Record<string, unknown>)[part];
				}
				return value ?? null;
			},
		};
	};
}

/**
 * The primary key values a filter is limited to, when it is nothing but `key eq <guid>` joined by
 * `or` (what clients send to read records by id): the query reads those rows by id instead of
 * testing every row, as Dataverse's clustered index does. Null for any other filter.
 */
export function keyValuesOf(text: string, key: string): string[] | null {
	const values: string[] = [];
	const walk = (node: FilterNode): boolean => {
		if (node.kind === 'or') return walk(node.left) && walk(node.right);
		if (node.kind !== 'compare' || node.op !== 'eq') return false;
		const [property, literal] =
			node.left.kind === 'property' ? [node.left, node.right] : [node.right, node.left];
		if (property.kind !== 'property' || property.path !== key) return false;
		if (literal.kind !== 'literal' || literal.type !== 'guid') return false;
		values.push(String(literal.value).toLowerCase());
		return true;
	};
	return walk(parseFilter(text)) ? [...new Set(values)] : null;
}
