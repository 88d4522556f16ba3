create schema if not exists quarry;
create or replace function quarry.num_key(n numeric) returns bytea
language plpgsql immutable strict parallel safe as $$
declare
  f float8;
  corr int := 0;
  i int8;
  b bit(64);
begin
  if n = trunc(n) and n >= -9223372036854775808 and n <= 9223372036854775807 then
    i := n::int8;
    f := i::float8;
    if f >= 9223372036854775808::float8 then
      corr := (i::numeric - 9223372036854775808::numeric)::int;
    else
      corr := (i - f::int8)::int;
    end if;
  else
    f := n::float8;
  end if;
  if f = 0 then f := 0; end if;
  b := ('x' || encode(float8send(f), 'hex'))::bit(64);
  if substring(b from 1 for 1) = B'1' then
    b := ~b;
  else
    b := b # B'1000000000000000000000000000000000000000000000000000000000000000';
  end if;
  return '\x03'::bytea
      || decode(lpad(to_hex(b::int8), 16, '0'), 'hex')
      || decode(lpad(to_hex(corr + 32768), 4, '0'), 'hex');
end $$;
create or replace function quarry.key(v jsonb) returns bytea
language plpgsql immutable parallel safe as $$
declare
  out bytea;
  e jsonb;
  k text;
begin
  case jsonb_typeof(v)
    when 'null' then return '\x01'::bytea;
    when 'boolean' then return case when v = 'true'::jsonb then '\x0201'::bytea else '\x0200'::bytea end;
    when 'number' then return quarry.num_key(v::numeric);
    when 'string' then return '\x04'::bytea || convert_to(v #>> '{}', 'UTF8') || '\x0000'::bytea;
    when 'array' then
      out := '\x05'::bytea;
      for e in select x from jsonb_array_elements(v) x loop
        out := out || quarry.key(e);
      end loop;
      return out || '\x00'::bytea;
    when 'object' then
      if (select count(*) from jsonb_object_keys(v)) > 1 then
        raise exception 'quarry: an object of several fields has no order here (jsonb does not keep the order of its fields, which quarry sorts and groups by): no exact translation';
      end if;
      out := '\x06'::bytea;
      for k, e in select x.key, x.value from jsonb_each(v) x loop
        out := out || '\x01'::bytea || convert_to(k, 'UTF8') || '\x0000'::bytea || quarry.key(e);
      end loop;
      return out || '\x00'::bytea;
    else
      return '\x01'::bytea;
  end case;
end $$;
-- The SQL/JSON path literal of a scalar parameter; arrays and objects have none.
create or replace function quarry.lit(v jsonb) returns text
language plpgsql immutable parallel safe as $$
begin
  if jsonb_typeof(v) in ('array', 'object') then
    raise exception 'quarry: a parameter compared with % must be a scalar, not %', '=, <, in or between', jsonb_typeof(v);
  end if;
  return v::text;
end $$;
-- The SQL/JSON path literal of a string parameter (`starts with`).
create or replace function quarry.lit_string(v jsonb) returns text
language plpgsql immutable parallel safe as $$
begin
  if jsonb_typeof(v) is distinct from 'string' then
    raise exception 'quarry: `starts with` needs a string, not %', coalesce(jsonb_typeof(v), 'nothing');
  end if;
  return v::text;
end $$;
-- A whole number of rows (`limit`, `offset`) from a parameter.
create or replace function quarry.row_count(v jsonb, what text) returns bigint
language plpgsql immutable parallel safe as $$
declare
  n numeric := quarry.whole_or_null(v);
begin
  if n is null or n < 0 then
    raise exception 'quarry: `%` needs a whole number, not %', what, v;
  end if;
  return n::bigint;
end $$;
-- `contains`: an array holding an element equal to `needle`, or a string holding it.
create or replace function quarry.contains(v jsonb, needle jsonb) returns boolean
language plpgsql immutable parallel safe as $$
begin
  if jsonb_path_exists(needle, 'strict $.** ? (@.type() == "object")') then
    raise exception 'quarry: `contains` of an object has no exact translation (jsonb does not keep the order of its fields)';
  end if;
  case jsonb_typeof(v)
    when 'array' then return exists (select from jsonb_array_elements(v) e where e = needle);
    when 'string' then return jsonb_typeof(needle) = 'string' and strpos(v #>> '{}', needle #>> '{}') > 0;
    else return false;
  end case;
end $$;
-- The keys `count by` and an index give a document: each element of each array the path
-- reaches (an empty array keys as itself), each other value, or null when it reaches none;
-- each once.
create or replace function quarry.index_keys(v jsonb, p jsonpath) returns setof jsonb
language plpgsql immutable parallel safe rows 2 as $$
declare
  r jsonb;
  reached int := 0;
  keys jsonb[] := '{}';
begin
  for r in select x from jsonb_path_query(v, p) x loop
    reached := reached + 1;
    if jsonb_typeof(r) = 'array' and r <> '[]'::jsonb then
      keys := keys || array(select jsonb_array_elements(r));
    else
      keys := keys || r;
    end if;
  end loop;
  if reached = 0 then
    return next 'null'::jsonb;
  elsif cardinality(keys) = 1 then
    return next keys[1];
  else
    return query select distinct on (quarry.key(k)) k from unnest(keys) k order by quarry.key(k);
  end if;
end $$;
-- Whether the path reaches at most one value, not an array (a unique index's rule here).
create or replace function quarry.single_valued(v jsonb, p jsonpath) returns boolean
language sql immutable parallel safe as $$
  select count(*) <= 1 and coalesce(bool_and(jsonb_typeof(r) <> 'array'), true)
  from jsonb_path_query(v, p) r
$$;
-- What `select` shows for a path (`["items", 0, "sku"]`: fields and positions): the value it
-- reaches; where it crosses an array, the values reached through each element, as an array;
-- null when it reaches none.
create or replace function quarry.project(v jsonb, path jsonb) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  head jsonb := path -> 0;
  rest jsonb := path - 0;
  item jsonb;
  r jsonb;
  out jsonb := '[]';
begin
  if v is null or head is null then return v; end if;
  if jsonb_typeof(head) = 'number' then
    if jsonb_typeof(v) <> 'array' then return null; end if;
    return quarry.project(v -> (head::int), rest);
  end if;
  case jsonb_typeof(v)
    when 'object' then return quarry.project(v -> (head #>> '{}'), rest);
    when 'array' then
      for item in select x from jsonb_array_elements(v) x loop
        if jsonb_typeof(item) = 'object' then
          r := quarry.project(item -> (head #>> '{}'), rest);
          if r is not null then out := out || jsonb_build_array(r); end if;
        end if;
      end loop;
      return out;
    else return null;
  end case;
end $$;
-- `update ... set`: the value at the path set, missing objects on the way created; an
-- error where the path runs into another value or past an array's end (one past appends).
create or replace function quarry.set(v jsonb, path jsonb, value jsonb) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  head jsonb := path -> 0;
  rest jsonb := path - 0;
  n int;
begin
  if head is null then return value; end if;
  if jsonb_typeof(head) = 'string' then
    if jsonb_typeof(v) <> 'object' then
      raise exception 'quarry: cannot set a field of %, only of an object', jsonb_typeof(v);
    end if;
    return jsonb_set(v, array[head #>> '{}'],
      quarry.set(coalesce(v -> (head #>> '{}'), case when rest = '[]' then null else '{}'::jsonb end), rest, value));
  end if;
  if jsonb_typeof(v) <> 'array' then
    raise exception 'quarry: cannot set position % of %, only of an array', head, jsonb_typeof(v);
  end if;
  n := head::int;
  if n = jsonb_array_length(v) and rest = '[]' then return v || jsonb_build_array(value); end if;
  if n >= jsonb_array_length(v) then
    raise exception 'quarry: cannot set position %: the array has % elements', n, jsonb_array_length(v);
  end if;
  return jsonb_set(v, array[n::text], quarry.set(v -> n, rest, value));
end $$;
-- `update ... unset`: the value at the path removed (an array position removes that
-- element); nothing happens when there is none.
create or replace function quarry.unset(v jsonb, path jsonb) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  head jsonb := path -> 0;
  rest jsonb := path - 0;
begin
  if head is null then return v; end if;
  if jsonb_typeof(head) = 'string' and jsonb_typeof(v) = 'object' and v ? (head #>> '{}') then
    if rest = '[]' then return v - (head #>> '{}'); end if;
    return jsonb_set(v, array[head #>> '{}'], quarry.unset(v -> (head #>> '{}'), rest));
  end if;
  if jsonb_typeof(head) = 'number' and jsonb_typeof(v) = 'array' and (head::int) < jsonb_array_length(v) then
    if rest = '[]' then return v - (head::int); end if;
    return jsonb_set(v, array[head #>> '{}'], quarry.unset(v -> (head::int), rest));
  end if;
  return v;
end $$;
-- Expressions. A number is quarry's float when its text has a decimal point (the export
-- writes every float so), else an integer; each helper below gives what quarry's gives.
create or replace function quarry.is_int(v jsonb) returns boolean
language sql immutable parallel safe as $$
  select jsonb_typeof(v) = 'number' and scale(v::numeric) = 0
$$;
-- A whole number as quarry's `as_i64` reads one (an integer, or a float without a fraction).
create or replace function quarry.whole_or_null(v jsonb) returns numeric
language sql immutable parallel safe as $$
  select case when jsonb_typeof(v) = 'number' and trunc(v::numeric) = v::numeric
    and v::numeric >= -9223372036854775808 and v::numeric < 9223372036854775808
    then trunc(v::numeric) end
$$;
-- A float as quarry writes it: the decimal that reads back as the same double (its exact
-- value when it is integral from 2^53 up), with a decimal point; null when not finite.
create or replace function quarry.float_json(f float8) returns jsonb
language plpgsql immutable parallel safe set extra_float_digits = 1 as $$
declare
  n numeric;
  k int := 0;
begin
  if f is null or f = 'NaN'::float8 or f in ('Infinity'::float8, '-Infinity'::float8) then
    return 'null';
  end if;
  if abs(f) >= 9007199254740992 then
    while abs(f) >= 9007199254740992 loop
      f := f / 2;
      k := k + 1;
    end loop;
    n := trunc(f::bigint::numeric * power(2::numeric, k));
  else
    n := f::text::numeric;
  end if;
  if scale(n) = 0 then n := round(n, 1); end if;
  return to_jsonb(n);
end $$;
create or replace function quarry.to_float(v jsonb) returns float8
language sql immutable parallel safe as $$
  select (v::numeric)::text::float8
$$;
-- `x op y` for + - * / as IEEE arithmetic gives it (PostgreSQL raises instead): an overflow
-- is infinite, an underflow zero.
create or replace function quarry.float_op(op text, x float8, y float8) returns float8
language plpgsql immutable parallel safe as $$
begin
  return case op when '+' then x + y when '-' then x - y when '*' then x * y else x / y end;
exception when numeric_value_out_of_range then
  if sqlerrm like '%underflow%' then return 0; end if;
  return case when (case op when '*' then (x < 0) <> (y < 0) when '/' then (x < 0) <> (y < 0)
    when '-' then x < 0 else x < 0 end) then '-Infinity'::float8 else 'Infinity'::float8 end;
end $$;
-- `a op b` for + - * / % (integers exact while the answer is whole and fits, else floats;
-- by zero null; anything but numbers null).
create or replace function quarry.arith(op text, a jsonb, b jsonb) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  x numeric;
  y numeric;
  r numeric;
begin
  if jsonb_typeof(a) is distinct from 'number' or jsonb_typeof(b) is distinct from 'number' then
    return 'null';
  end if;
  x := a::numeric;
  y := b::numeric;
  if op in ('/', '%') and y = 0 then return 'null'; end if;
  if scale(x) = 0 and scale(y) = 0 then
    r := case op
      when '+' then x + y
      when '-' then x - y
      when '*' then x * y
      when '/' then case when mod(x, y) = 0 then div(x, y) end
      when '%' then mod(x, y)
    end;
    if r is not null and r >= -9223372036854775808 and r <= 9223372036854775807 then
      return to_jsonb(r);
    end if;
  end if;
  if op = '%' then
    raise exception 'quarry: %% of floats has no exact translation';
  end if;
  return quarry.float_json(quarry.float_op(op, quarry.to_float(a), quarry.to_float(b)));
end $$;
-- `a || b`: text of strings, integers and booleans; null when either is null, missing, an
-- array or an object.
create or replace function quarry.concat(a jsonb, b jsonb) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  parts text[] := '{}';
  v jsonb;
begin
  foreach v in array array[a, b] loop
    case
      when jsonb_typeof(v) = 'string' then parts := parts || (v #>> '{}');
      when jsonb_typeof(v) = 'boolean' or quarry.is_int(v) then parts := parts || v::text;
      when jsonb_typeof(v) = 'number' then
        raise exception 'quarry: the text of a float (`||`) has no exact translation';
      else return 'null';
    end case;
  end loop;
  return to_jsonb(parts[1] || parts[2]);
end $$;
create or replace function quarry.len(v jsonb) returns jsonb
language sql immutable parallel safe as $$
  select case jsonb_typeof(v)
    when 'string' then to_jsonb(length(v #>> '{}'))
    when 'array' then to_jsonb(jsonb_array_length(v))
    when 'object' then (select to_jsonb(count(*)) from jsonb_object_keys(v))
    else 'null' end
$$;
-- Without leading and trailing white space (Unicode's White_Space, as Rust's `trim`).
create or replace function quarry.trim(v jsonb) returns jsonb
language sql immutable parallel safe as $$
  select case when jsonb_typeof(v) = 'string' then to_jsonb(btrim(v #>> '{}',
    E'\t\n\u000B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000'))
    else 'null' end
$$;
-- `substr(s, start[, len])`: characters from `start` (the first is 1), clipped.
create or replace function quarry.substr(s jsonb, start jsonb, len jsonb) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  b numeric := quarry.whole_or_null(start);
  l numeric := quarry.whole_or_null(len);
  e numeric;
  skip numeric;
  take numeric;
begin
  if jsonb_typeof(s) is distinct from 'string' or b is null then return 'null'; end if;
  if len is null then
    e := 9223372036854775807;
  elsif l is null or l < 0 then
    return 'null';
  else
    e := least(b + l, 9223372036854775807);
  end if;
  skip := greatest(b, 1) - 1;
  take := greatest(e - greatest(b, 1), 0);
  if skip >= length(s #>> '{}') then return '""'; end if;
  return to_jsonb(substr(s #>> '{}', (skip + 1)::int, least(take, 2147483647)::int));
end $$;
create or replace function quarry.abs(v jsonb) returns jsonb
language sql immutable parallel safe as $$
  select case
    when quarry.is_int(v) and v::numeric = -9223372036854775808 then quarry.float_json(9223372036854775808::float8)
    when quarry.is_int(v) then to_jsonb(abs(v::numeric))
    when jsonb_typeof(v) = 'number' then quarry.float_json(abs(quarry.to_float(v)))
    else 'null' end
$$;
-- A float made whole (`floor`, `ceil`, `round`: ties away from zero): an integer when it fits.
create or replace function quarry.make_whole(v jsonb, how text) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  n numeric;
begin
  if quarry.is_int(v) then return v; end if;
  if jsonb_typeof(v) is distinct from 'number' then return 'null'; end if;
  n := case how when 'floor' then floor(v::numeric) when 'ceil' then ceil(v::numeric) else round(v::numeric) end;
  if n >= -9223372036854775808 and n < 9223372036854775808 then return to_jsonb(trunc(n)); end if;
  return quarry.float_json(n::text::float8);
end $$;
-- `round(x, digits)`: digits clamped to -20..20.
create or replace function quarry.round(v jsonb, digits jsonb) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  d numeric := quarry.whole_or_null(digits);
  unit float8;
  f float8;
  r float8;
begin
  if digits is null then return quarry.make_whole(v, 'round'); end if;
  if d is null then return 'null'; end if;
  d := greatest(least(d, 20), -20);
  if quarry.is_int(v) then
    if d >= 0 then return v; end if;
    unit := power(10::float8, -d);
    return quarry.make_whole(quarry.float_json(
      quarry.to_float(quarry.make_whole(quarry.float_json(v::numeric::float8 / unit), 'round')) * unit), 'round');
  end if;
  if jsonb_typeof(v) is distinct from 'number' then return 'null'; end if;
  f := quarry.to_float(v);
  unit := power(10::float8, d);
  r := quarry.float_op('*', f, unit);
  if r not in ('Infinity'::float8, '-Infinity'::float8) then
    r := quarry.to_float(quarry.make_whole(quarry.float_json(r), 'round'));
  end if;
  r := quarry.float_op('/', r, unit);
  if r in ('Infinity'::float8, '-Infinity'::float8) or r = 'NaN'::float8 then r := f; end if;
  return quarry.float_json(r);
end $$;
create or replace function quarry.type(v jsonb) returns jsonb
language sql immutable parallel safe as $$
  select to_jsonb(case jsonb_typeof(v) when 'boolean' then 'bool' else coalesce(jsonb_typeof(v), 'null') end)
$$;
-- The calendar date an ISO date or date-time string starts with ([year, month, day]), or
-- null: `YYYY-MM-DD`, then nothing or `T`/`t`/space and a time starting `HH:MM`.
create or replace function quarry.date_of(v jsonb) returns int[]
language plpgsql immutable parallel safe as $$
declare
  s text;
  y int;
  m int;
  d int;
begin
  if jsonb_typeof(v) is distinct from 'string' then return null; end if;
  s := v #>> '{}';
  if s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](.|\n)*)?$' then
    return null;
  end if;
  y := substr(s, 1, 4)::int;
  m := substr(s, 6, 2)::int;
  d := substr(s, 9, 2)::int;
  if m < 1 or m > 12 or d < 1 or d > quarry.month_days(y, m) then return null; end if;
  return array[y, m, d];
end $$;
create or replace function quarry.month_days(y int, m int) returns int
language sql immutable parallel safe as $$
  select case when m = 2 then case when (y % 4 = 0 and y % 100 <> 0) or y % 400 = 0 then 29 else 28 end
    when m in (4, 6, 9, 11) then 30 else 31 end
$$;
-- A date as quarry writes it: `YYYY-MM-DD`, and `-00YYYY-MM-DD` before year 0.
create or replace function quarry.date_text(ymd int[]) returns jsonb
language sql immutable parallel safe as $$
  select case when ymd is null then 'null'::jsonb
    else to_jsonb(case when ymd[1] < 0 then '-' || lpad((-ymd[1])::text, 6, '0') else lpad(ymd[1]::text, 4, '0') end
      || '-' || lpad(ymd[2]::text, 2, '0') || '-' || lpad(ymd[3]::text, 2, '0')) end
$$;
-- `year(d)`, `month(d)`, `day(d)`, `date(d)`.
create or replace function quarry.date_part(v jsonb, part text) returns jsonb
language sql immutable parallel safe as $$
  select case when quarry.date_of(v) is null then 'null'::jsonb
    when part = 'date' then quarry.date_text(quarry.date_of(v))
    else to_jsonb((quarry.date_of(v))[case part when 'year' then 1 when 'month' then 2 else 3 end]) end
$$;
-- `date + amount unit` (`back`: minus): months and years stop at a month's last day; null
-- when not a date, not a whole amount, or outside the years -9999 to 9999.
create or replace function quarry.shift_date(v jsonb, amount jsonb, unit text, back boolean) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  ymd int[] := quarry.date_of(v);
  n numeric := quarry.whole_or_null(amount);
  months numeric;
  days numeric;
  y numeric;
  m numeric;
  era numeric;
  doe numeric;
  yoe numeric;
  doy numeric;
  mp numeric;
begin
  if ymd is null or n is null then return 'null'; end if;
  if back then n := -n; end if;
  if unit in ('month', 'year') then
    months := ymd[1]::numeric * 12 + (ymd[2] - 1) + case unit when 'year' then n * 12 else n end;
    y := floor(months / 12);
    m := months - y * 12 + 1;
    if y < -9999 or y > 9999 then return 'null'; end if;
    return quarry.date_text(array[y::int, m::int, least(ymd[3], quarry.month_days(y::int, m::int))]);
  end if;
  -- Days since 0000-03-01 (proleptic Gregorian), shifted, and back to a date.
  y := ymd[1] - case when ymd[2] <= 2 then 1 else 0 end;
  era := floor(y / 400);
  yoe := y - era * 400;
  mp := (ymd[2] + 9) % 12;
  doy := floor((153 * mp + 2) / 5) + ymd[3] - 1;
  doe := yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy;
  days := era * 146097 + doe + case unit when 'week' then n * 7 else n end;
  era := floor(days / 146097);
  doe := days - era * 146097;
  yoe := floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365);
  y := yoe + era * 400;
  doy := doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100));
  mp := floor((5 * doy + 2) / 153);
  m := case when mp < 10 then mp + 3 else mp - 9 end;
  if m <= 2 then y := y + 1; end if;
  if y < -9999 or y > 9999 then return 'null'; end if;
  return quarry.date_text(array[y::int, m::int, (doy - floor((153 * mp + 2) / 5) + 1)::int]);
end $$;
-- Groups. The keys a value gives (`group by` an expression): each element of a non-empty
-- array, once each, in value order; else the value.
create or replace function quarry.key_values(v jsonb) returns setof jsonb
language sql immutable parallel safe rows 2 as $$
  (select distinct on (quarry.key(e)) e
   from jsonb_array_elements(case when jsonb_typeof(v) = 'array' then v else '[]' end) e
   order by quarry.key(e))
  union all select v where jsonb_typeof(v) is distinct from 'array' or v = '[]'::jsonb
$$;
-- `count(distinct x)` from each row's keys (an array of arrays): the distinct keys but null.
create or replace function quarry.count_distinct(arrays jsonb) returns jsonb
language sql immutable parallel safe as $$
  select to_jsonb(count(distinct quarry.key(e)))
  from jsonb_array_elements(coalesce(arrays, '[]')) a, jsonb_array_elements(a) e
  where e <> 'null'::jsonb
$$;
-- A running float total, added in row order as quarry adds it (an overflow is infinite).
create or replace function quarry.fsum_step(total float8, x float8) returns float8
language plpgsql immutable parallel safe as $$
begin
  return total + x;
exception when numeric_value_out_of_range then
  return case when x > 0 then 'Infinity'::float8 else '-Infinity'::float8 end;
end $$;
create or replace aggregate quarry.fsum(float8) (sfunc = quarry.fsum_step, stype = float8, initcond = '0');
-- `sum(x)`: exact while only integers were added and the total fits one, else a float;
-- `avg(x)`: the total over how many numbers, a float (null for none).
create or replace function quarry.sum_value(ints numeric, floats float8, any_float boolean, n bigint, average boolean) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  total float8;
begin
  ints := coalesce(ints, 0);
  if average and coalesce(n, 0) = 0 then return 'null'; end if;
  if not average and not coalesce(any_float, false)
    and ints >= -9223372036854775808 and ints <= 9223372036854775807 then
    return to_jsonb(ints);
  end if;
  begin
    total := ints::text::float8 + coalesce(floats, 0);
    if average then total := total / n; end if;
  exception when numeric_value_out_of_range then
    return 'null';
  end;
  return quarry.float_json(total);
end $$;
