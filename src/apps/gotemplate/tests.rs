//! Table tests: each row is a template, the data it runs on (a shared document unless given)
//! and what Go, Sprig and Argo CD produce; errors are matched on the action and the reason.

use serde_json::{Value as Json, json};

use super::*;

fn data() -> Json {
    json!({
        "a": "x", "n": 3, "f": 1.5, "big": 1000000, "b": true, "nul": null, "zero": 0, "empty": "",
        "l": ["p", "q", "r"], "el": [], "em": {}, "nl": [null, "a"],
        "m": {"k1": "v1", "k2": 2, "z": null, "inner": {"deep": "d"}},
        "lm": [{"name": "one"}, {"name": "two"}],
        "path": {"path": "apps/guestbook", "basename": "guestbook", "filename": "config.json",
                 "segments": ["apps", "guestbook"]},
        "metadata": {"labels": {"env": "prod", "my-label": "v"}},
        "name": "My Cluster_01.example",
        "values": {"image": {"tag": "1.2"}, "replicas": 2},
        "branch": "feat/a_really+long_pull_request_name_to_test_argo_slugification_and_branch_name_shortening_feature"
    })
}

/// Renders each row with the shared data; `Ok` rows must match exactly, `Err` rows must fail
/// with a message that names the action and contains the reason.
fn check(rows: &[(&str, Result<&str, &str>)]) {
    check_with(&data(), &Options::default(), rows);
}

fn check_with(data: &Json, options: &Options, rows: &[(&str, Result<&str, &str>)]) {
    let mut failures = Vec::new();
    for (template, want) in rows {
        let got = render(template, data, options);
        let ok = match (&got, want) {
            (Ok(g), Ok(w)) => g == w,
            (Err(g), Err(w)) => g.contains(w) && g.starts_with('`'),
            _ => false,
        };
        if !ok {
            failures.push(format!("{template:?}\n    want {want:?}\n    got  {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn text_trim_markers_comments_and_literals() {
    check(&[
        ("plain text", Ok("plain text")),
        ("", Ok("")),
        ("a {{- .a -}} b", Ok("axb")),
        ("a  {{- /* note */ -}}  b", Ok("ab")),
        ("x{{/* note */}}y", Ok("xy")),
        ("a\n  {{- .a }}  \n b", Ok("ax  \n b")),
        ("{{ .a -}}\n\n\t y", Ok("xy")),
        ("{{-3}}", Ok("-3")),
        ("{{- 3 }}", Ok("3")),
        ("{{`raw {{ }}`}}", Ok("raw {{ }}")),
        ("{{ \"}}\" }}", Ok("}}")),
        ("{{ \"\\u00e9\\t\\x41\" }}", Ok("é\tA")),
        ("{{ 'a' }} {{ '\\n' }} {{ '\\'' }}", Ok("97 10 39")),
        (
            "{{ 0x10 }} {{ 1_000 }} {{ 017 }} {{ 1e3 }} {{ .5 }} {{ -3 }} {{ +3 }} {{ 1.0 }} {{ 0b101 }} {{ 0o17 }}",
            Ok("16 1000 15 1000 0.5 -3 3 1 5 15"),
        ),
        ("{{ true }} {{ false }}", Ok("true false")),
        ("{{ $.a }}{{ $.m.k1 }}", Ok("xv1")),
        ("{ {{.a}} }", Ok("{ x }")),
        ("{{ .a }}}}", Ok("x}}")),
    ]);
}

#[test]
fn values_print_as_go_prints_them() {
    check(&[
        // JSON numbers are float64: whole ones print bare, big ones in Go's %v form
        ("{{ .n }} {{ .f }} {{ .big }}", Ok("3 1.5 1e+06")),
        ("{{ .l }} {{ .el }} {{ .em }}", Ok("[p q r] [] map[]")),
        ("{{ .m }}", Ok("map[inner:map[deep:d] k1:v1 k2:2 z:<nil>]")),
        ("{{ .lm }}", Ok("[map[name:one] map[name:two]]")),
        (
            "{{ .nl }} {{ .nul }} {{ .b }}",
            Ok("[<nil> a] <no value> true"),
        ),
        ("{{ . | len }}", Ok("19")),
    ]);
    let floats = [
        (0.0, "0"),
        (100000.0, "100000"),
        (999999.0, "999999"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e21, "1e+21"),
        (123.456789, "123.456789"),
        (-1e6, "-1e+06"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
    ];
    for (f, want) in floats {
        check_with(
            &json!({"v": f}),
            &Options::default(),
            &[("{{ .v }}", Ok(want))],
        );
    }
}

#[test]
fn missing_keys_default_and_error() {
    type Row<'a> = (&'a str, Result<&'a str, &'a str>, Result<&'a str, &'a str>);
    let rows: &[Row] = &[
        (
            "{{ .nope }}",
            Ok("<no value>"),
            Err("`{{ .nope }}`: map has no entry for key \"nope\""),
        ),
        (
            "{{ .nope.x }}",
            Ok("<no value>"),
            Err("map has no entry for key \"nope\""),
        ),
        (
            "{{ .m.nope }}",
            Ok("<no value>"),
            Err("map has no entry for key \"nope\""),
        ),
        (
            "{{ .path.nope | upper }}",
            Err("invalid value; expected string"),
            Err("`{{ .path.nope | upper }}`: map has no entry for key \"nope\""),
        ),
        (
            "{{ .nul.x }}",
            Err("nil pointer evaluating interface {}.x"),
            Err("nil pointer evaluating interface {}.x"),
        ),
        ("{{ .m.z }}", Ok("<no value>"), Ok("<no value>")),
        (
            "{{ .a.b }}",
            Err("can't evaluate field b in type string"),
            Err("can't evaluate field b"),
        ),
        (
            "{{ $x := .nope }}{{ $x.y }}",
            Ok("<no value>"),
            Err("`{{ $x := .nope }}`: map has no entry"),
        ),
        (
            "{{ (.nope).y }}",
            Ok("<no value>"),
            Err("map has no entry for key \"nope\""),
        ),
        (
            "{{ index .m \"nope\" }}",
            Ok("<no value>"),
            Ok("<no value>"),
        ),
        (
            "{{ if .nope }}y{{ else }}n{{ end }}",
            Ok("n"),
            Err("`{{ if .nope }}`: map has no entry"),
        ),
        ("{{ print .nope }}", Ok("<nil>"), Err("map has no entry")),
        (
            "{{ .nope | default \"d\" }}",
            Ok("d"),
            Err("map has no entry"),
        ),
        ("{{ dig \"nope\" \"d\" . }}", Ok("d"), Ok("d")),
        ("{{ hasKey . \"nope\" }}", Ok("false"), Ok("false")),
        (
            "{{ range .nl }}[{{ . }}]{{ end }}",
            Ok("[<no value>][a]"),
            Ok("[<no value>][a]"),
        ),
        (
            "{{ range .nl }}{{ .x }}{{ end }}",
            Err("`{{ .x }}`: nil pointer evaluating interface {}.x"),
            Err("nil pointer evaluating interface {}.x"),
        ),
    ];
    let error = Options {
        missing_key_error: true,
    };
    for (template, default, strict) in rows {
        check_with(&data(), &Options::default(), &[(template, *default)]);
        check_with(&data(), &error, &[(template, *strict)]);
    }
}

#[test]
fn options_parse() {
    let parse = |o: &[&str]| Options::parse(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(parse(&[]), Ok(Options::default()));
    assert_eq!(
        parse(&["missingkey=error"]),
        Ok(Options {
            missing_key_error: true
        })
    );
    assert_eq!(
        parse(&["missingkey=error", "missingkey=zero"]),
        Ok(Options::default())
    );
    assert_eq!(parse(&["missingkey=invalid"]), Ok(Options::default()));
    assert_eq!(parse(&["missingkey=default"]), Ok(Options::default()));
    assert!(
        parse(&["missingkey=panic"])
            .unwrap_err()
            .contains("`missingkey=panic`")
    );
    assert!(parse(&["foo"]).unwrap_err().contains("`foo`"));
}

#[test]
fn control_structures_and_variables() {
    check(&[
        ("{{ if .b }}y{{ end }}", Ok("y")),
        (
            "{{ if .zero }}y{{ else if .a }}a{{ else }}z{{ end }}",
            Ok("a"),
        ),
        (
            "{{ if .zero }}y{{ else if .empty }}a{{ else }}z{{ end }}",
            Ok("z"),
        ),
        (
            "{{ if .el }}y{{ else if .em }}m{{ else if .nul }}n{{ else }}falsy{{ end }}",
            Ok("falsy"),
        ),
        ("{{ with .m }}{{ .k1 }}{{ end }}", Ok("v1")),
        ("{{ with .empty }}y{{ else }}n{{ end }}", Ok("n")),
        (
            "{{ with .empty }}y{{ else with .a }}{{ . }}{{ end }}",
            Ok("x"),
        ),
        ("{{ range .l }}{{ . }},{{ end }}", Ok("p,q,r,")),
        (
            "{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}",
            Ok("0=p;1=q;2=r;"),
        ),
        ("{{ range $v := .l }}{{ $v }}{{ end }}", Ok("pqr")),
        (
            "{{ range $k, $v := .m }}{{ $k }};{{ end }}",
            Ok("inner;k1;k2;z;"),
        ),
        ("{{ range 3 }}{{ . }}{{ end }}", Ok("012")),
        ("{{ range .el }}x{{ else }}empty{{ end }}", Ok("empty")),
        ("{{ range .nope }}x{{ else }}none{{ end }}", Ok("none")),
        (
            "{{ range .l }}{{ if eq . \"q\" }}{{ break }}{{ end }}{{ . }}{{ end }}",
            Ok("p"),
        ),
        (
            "{{ range .l }}{{ if eq . \"q\" }}{{ continue }}{{ end }}{{ . }}{{ end }}",
            Ok("pr"),
        ),
        (
            "{{ $x := 1 }}{{ range .l }}{{ $x = . }}{{ end }}{{ $x }}",
            Ok("r"),
        ),
        (
            "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}",
            Ok("21"),
        ),
        (
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
            Ok("2"),
        ),
        (
            "{{ range .lm }}{{ $.a }}{{ .name }}{{ end }}",
            Ok("xonextwo"),
        ),
        ("{{ if $x := .a }}{{ $x }}{{ end }}", Ok("x")),
        (
            "{{ range .a }}x{{ end }}",
            Err("`{{ range .a }}`: range can't iterate over x"),
        ),
        (
            "{{ range $i, $v := 3 }}{{ end }}",
            Err("can't use 3 to iterate over more than one variable"),
        ),
        ("{{ $y }}", Err("`{{ $y }}`: undefined variable \"$y\"")),
        (
            "{{ if true }}{{ $z := 1 }}{{ end }}{{ $z }}",
            Err("undefined variable \"$z\""),
        ),
        ("{{ $x = 1 }}", Err("undefined variable: $x")),
        ("{{ break }}", Err("{{break}} outside {{range}}")),
        ("{{ $a, $b := 1 }}", Err("too many declarations in command")),
    ]);
}

#[test]
fn templates_define_and_block() {
    check(&[
        (
            "{{ define \"x\" }}X{{ . }}{{ end }}{{ template \"x\" .a }}",
            Ok("Xx"),
        ),
        (
            "{{ template \"x\" }}{{ define \"x\" }}[{{ . }}]{{ end }}",
            Ok("[<no value>]"),
        ),
        ("{{ block \"b\" .a }}B{{ . }}{{ end }}", Ok("Bx")),
        (
            "{{ define \"x\" }}{{ $.a }}{{ end }}{{ template \"x\" . }}",
            Ok("x"),
        ),
        (
            "{{ define \"r\" }}{{ if . }}{{ len . }}{{ template \"r\" (rest .) }}{{ end }}{{ end }}{{ template \"r\" .l }}",
            Ok("321"),
        ),
        (
            "{{ template \"nope\" }}",
            Err("`{{ template \"nope\" }}`: no such template \"nope\""),
        ),
        (
            "{{ define \"x\" }}a{{ end }}{{ define \"x\" }}b{{ end }}",
            Err("template \"x\" is defined twice"),
        ),
        (
            "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
            Err("exceeded maximum template depth"),
        ),
    ]);
}

#[test]
fn go_builtins() {
    check(&[
        (
            "{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" \"x\" }} {{ or 0 \"\" }}",
            Ok("0 2 x "),
        ),
        (
            "{{ not 0 }} {{ not .l }} {{ not .nope }}",
            Ok("true false true"),
        ),
        // and/or stop at the deciding argument: the missing field is never evaluated
        ("{{ or .a .nope.x.y }}", Ok("x")),
        (
            "{{ len .a }} {{ len .l }} {{ len .m }} {{ len \"héllo\" }}",
            Ok("1 3 4 6"),
        ),
        (
            "{{ len .n }}",
            Err("error calling len: len of type float64"),
        ),
        (
            "{{ index .l 1 }} {{ index .m \"inner\" \"deep\" }} {{ index .lm 1 \"name\" }} {{ index .a 0 }}",
            Ok("q d two 120"),
        ),
        ("{{ index .path.segments 1 }}", Ok("guestbook")),
        (
            "{{ index .l 5 }}",
            Err("error calling index: index out of range: 5"),
        ),
        (
            "{{ index .l .n }}",
            Err("cannot index slice/array with type float64"),
        ),
        ("{{ print 1 2 \"a\" 3 \"b\" \"c\" 4 5 }}", Ok("1 2a3bc4 5")),
        ("{{ println 1 \"a\" .l }}", Ok("1 a [p q r]\n")),
        (
            "{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ eq .nope \"x\" }} {{ ne 1 2 }}",
            Ok("true true false true"),
        ),
        (
            "{{ lt 1 2 }} {{ lt \"a\" \"b\" }} {{ le 2 2 }} {{ gt 3 2 }} {{ ge 2 3 }} {{ lt 1.5 2.5 }}",
            Ok("true true true true false true"),
        ),
        // a JSON number is a float64: comparing it with an int literal fails, as in Argo CD
        (
            "{{ eq .n 3 }}",
            Err("error calling eq: incompatible types for comparison: float64 and int"),
        ),
        ("{{ eq .n 3.0 }} {{ eq (int .n) 3 }}", Ok("true true")),
        ("{{ lt true false }}", Err("invalid type for comparison")),
        ("{{ eq .l .l }}", Err("non-comparable type")),
        (
            "{{ html \"<a href='x'>&\\\"</a>\" }}",
            Ok("&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"),
        ),
        (
            "{{ js \"<a href='x'>&\\\"=\" }}",
            Ok("\\u003Ca href\\u003D\\'x\\'\\u003E\\u0026\\\"\\u003D"),
        ),
        ("{{ urlquery \"a b&c=d/é\" }}", Ok("a+b%26c%3Dd%2F%C3%A9")),
        (
            "{{ call .a }}",
            Err("function `call` is not supported by kpush"),
        ),
    ]);
}

#[test]
fn printf_verbs() {
    check(&[
        (
            "{{ printf \"%s %d %v %q %t\" \"a\" 3 .l \"q\\\"x\" true }}",
            Ok("a 3 [p q r] \"q\\\"x\" true"),
        ),
        (
            "{{ printf \"%x %X %x %o %b %c %U\" 255 255 \"hi\" 8 5 65 233 }}",
            Ok("ff FF 6869 10 101 A U+00E9"),
        ),
        (
            "{{ printf \"%05d|%-5d|%5d|%+d|% d|%.3d\" 42 42 42 42 42 7 }}",
            Ok("00042|42   |   42|+42| 42|007"),
        ),
        (
            "{{ printf \"%5s|%-5s|%.2s|%05s\" \"ab\" \"ab\" \"abcdef\" \"ab\" }}",
            Ok("   ab|ab   |ab|000ab"),
        ),
        (
            "{{ printf \"%.2f %e %g %8.3f|%-8.2f|%08.2f\" .f .f .f .f .f .f }}",
            Ok("1.50 1.500000e+00 1.5    1.500|1.50    |00001.50"),
        ),
        (
            "{{ printf \"%v %.3g %g %E\" .big 1234.5678 1e-7 12345.678 }}",
            Ok("1e+06 1.23e+03 1e-07 1.234568E+04"),
        ),
        // Go's own markers for a wrong verb, a missing and an extra argument
        (
            "{{ printf \"%d %s\" .f .n }}",
            Ok("%!d(float64=1.5) %!s(float64=3)"),
        ),
        (
            "{{ printf \"%d\" }}|{{ printf \"%d\" 1 2 \"x\" }}|{{ printf \"%z\" 1 }}",
            Ok("%!d(MISSING)|1%!(EXTRA int=2, string=x)|%!z(int=1)"),
        ),
        (
            "{{ printf \"%T %T %T %T %T %T\" 1 .f \"s\" .l .m .nul }}",
            Ok("int float64 string []interface {} map[string]interface {} <nil>"),
        ),
        (
            "{{ printf \"%s|%v|%d\" .nul .nul .nul }}",
            Ok("%!s(<nil>)|<nil>|%!d(<nil>)"),
        ),
        ("{{ printf \"%%|%6.2f%%\" 99.5 }}", Ok("%| 99.50%")),
        ("{{ printf \"%s-%s\" .a .a | upper }}", Ok("X-X")),
        ("{{ .a | printf \"%s-%s\" \"y\" }}", Ok("y-x")),
        (
            "{{ printf \"%#v\" .a }}",
            Err("printf: `%#v` is not supported by kpush"),
        ),
        (
            "{{ printf \"%x\" .f }}",
            Err("`%x` of a float is not supported by kpush"),
        ),
    ]);
}

#[test]
fn sprig_strings() {
    check(&[
        (
            "{{ trim \"   hello    \" }}|{{ trimAll \"$\" \"$5.00$\" }}|{{ trimSuffix \"-\" \"hello-\" }}|{{ trimPrefix \"-\" \"-hello\" }}",
            Ok("hello|5.00|hello|hello"),
        ),
        (
            "{{ upper \"hello\" }} {{ lower \"HELLO\" }} {{ title \"hello wörld-x_y\" }} {{ untitle \"Hello World\" }}",
            Ok("HELLO hello Hello Wörld-X_y hello world"),
        ),
        (
            "{{ repeat 3 \"ab\" }} {{ substr 0 5 \"hello world\" }} {{ substr 6 -1 \"hello world\" }} {{ nospace \"h e l l o\" }}",
            Ok("ababab hello world hello"),
        ),
        (
            "{{ trunc 5 \"hello world\" }} {{ trunc -5 \"hello world\" }} {{ trunc 50 \"hi\" }}",
            Ok("hello world hi"),
        ),
        (
            "{{ abbrev 5 \"hello world\" }} {{ abbrevboth 5 10 \"1234 5678 9123\" }} {{ initials \"First Try\" }}",
            Ok("he... ...5678... FT"),
        ),
        (
            "{{ wrap 5 \"Hello World foo\" }}|{{ wrapWith 5 \"\\t\" \"Hello World\" }}",
            Ok("Hello\nWorld\nfoo|Hello\tWorld"),
        ),
        (
            "{{ contains \"cat\" \"catch\" }} {{ hasPrefix \"cat\" \"catch\" }} {{ hasSuffix \"cat\" \"ecat\" }}",
            Ok("true true true"),
        ),
        (
            "{{ quote \"a\\\"b\" 1 .nul }} {{ squote \"a\" 1.5 }} {{ cat \"hello\" .nul \"beautiful\" 1 }}",
            Ok("\"a\\\"b\" \"1\" 'a' '1.5' hello beautiful 1"),
        ),
        (
            "{{ \"a\\nb\" | indent 2 }}|{{ \"a\\nb\" | nindent 2 }}",
            Ok("  a\n  b|\n  a\n  b"),
        ),
        (
            "{{ replace \" \" \"-\" \"I Am Henry VIII\" }} {{ plural \"one\" \"many\" 1 }} {{ plural \"one\" \"many\" 2 }}",
            Ok("I-Am-Henry-VIII one many"),
        ),
        (
            "{{ snakecase \"FirstName\" }} {{ snakecase \"HTTPServer\" }} {{ snakecase \"http2xx\" }} {{ kebabcase \"FirstName\" }} {{ kebabcase \"GO PATH\" }}",
            Ok("first_name http_server http_2xx first-name go-path"),
        ),
        (
            "{{ camelcase \"http_server\" }} {{ camelcase \"some words\" }} {{ camelcase \"_complex__case_\" }} {{ swapcase \"This Is A.Test\" }}",
            Ok("HttpServer SomeWords _Complex_Case_ tHIS iS a.tEST"),
        ),
        (
            "{{ sha1sum \"Hello world!\" }}",
            Ok("d3486ae9136e7856bc42212385ea797094475802"),
        ),
        (
            "{{ sha256sum \"Hello world!\" }}",
            Ok("c0535e4be2b79ffd93291305436bf889314e4a3faec05ecffcbb7df31ad9e51a"),
        ),
        ("{{ adler32sum \"Hello world!\" }}", Ok("487130206")),
        (
            "{{ toString 1 }} {{ toString .f }} {{ toString .l }} {{ toStrings (list 1 .nul \"a\") }}",
            Ok("1 1.5 [p q r] [1 a]"),
        ),
        (
            "{{ upper 3 }}",
            Err("`{{ upper 3 }}`: wrong type for value; expected string; got int"),
        ),
        (
            "{{ trunc .n \"abc\" }}",
            Err("wrong type for value; expected int; got float64"),
        ),
        (
            "{{ upper }}",
            Err("wrong number of args for upper: want 1 got 0"),
        ),
    ]);
}

#[test]
fn sprig_conversions_and_math() {
    check(&[
        (
            "{{ atoi \"42\" }} {{ atoi \"x\" }} {{ int \"12\" }} {{ int .f }} {{ int64 \"0x10\" }} {{ float64 \"1.25\" }} {{ int \"1.00\" }}",
            Ok("42 0 12 1 16 1.25 1"),
        ),
        (
            "{{ add 1 2 3 }} {{ add1 .n }} {{ sub 3 2 }} {{ div 7 2 }} {{ mod 7 2 }} {{ mul 2 3 4 }}",
            Ok("6 4 1 3 1 24"),
        ),
        (
            "{{ max 1 7 3 }} {{ biggest 1 9 }} {{ min 4 2 8 }} {{ floor 123.9 }} {{ ceil 123.001 }} {{ round 123.555555 3 }}",
            Ok("7 9 2 123 124 123.556"),
        ),
        (
            "{{ addf 1.5 2 2 }} {{ add1f 0.1 }} {{ subf 7.5 2 3 }} {{ divf 10 2 4 }} {{ mulf 1.5 2 2 }} {{ addf 0.1 0.2 }} {{ divf 1 3 }}",
            Ok("5.5 1.1 2.5 1.25 6 0.3 0.3333333333333333"),
        ),
        ("{{ maxf 1 2.5 3 }} {{ minf 1 2.5 }}", Ok("3 1")),
        (
            "{{ div 1 0 }}",
            Err("error calling div: runtime error: integer divide by zero"),
        ),
        (
            "{{ until 5 }} {{ untilStep 3 6 2 }} {{ until -2 }}",
            Ok("[0 1 2 3 4] [3 5] [0 -1]"),
        ),
        (
            "{{ seq 5 }}|{{ seq -3 }}|{{ seq 0 2 }}|{{ seq 2 -2 }}|{{ seq 0 2 10 }}|{{ seq 0 -2 -5 }}",
            Ok("1 2 3 4 5|1 0 -1 -2 -3|0 1 2|2 1 0 -1 -2|0 2 4 6 8 10|0 -2 -4"),
        ),
        ("{{ toDecimal \"0777\" }}", Ok("511")),
        (
            "{{ until .n }}",
            Err("wrong type for value; expected int; got float64"),
        ),
    ]);
}

#[test]
fn sprig_lists() {
    check(&[
        (
            "{{ list 1 \"a\" .nul }} {{ tuple 1 2 }}",
            Ok("[1 a <nil>] [1 2]"),
        ),
        (
            "{{ first .l }} {{ last .l }} {{ rest .l }} {{ initial .l }} {{ first .el }}",
            Ok("p r [q r] [p q] <no value>"),
        ),
        (
            "{{ append .l \"s\" }} {{ push .l \"s\" }} {{ prepend .l \"o\" }} {{ concat .l (list 1) .el }}",
            Ok("[p q r s] [p q r s] [o p q r] [p q r 1]"),
        ),
        (
            "{{ reverse .l }} {{ uniq (list 1 1 \"a\" \"a\" 2) }} {{ without .l \"q\" }} {{ compact (list 0 1 \"\" \"a\" .nul) }}",
            Ok("[r q p] [1 a 2] [p r] [1 a]"),
        ),
        (
            "{{ has \"q\" .l }} {{ has \"z\" .l }} {{ has 1 .nope }}",
            Ok("true false false"),
        ),
        (
            "{{ slice .l 1 }} {{ slice .l 1 2 }} {{ slice .l }} {{ slice .el }}",
            Ok("[q r] [q] [p q r] <no value>"),
        ),
        (
            "{{ chunk 2 (list 1 2 3) }} {{ sortAlpha (list \"b\" \"a\" 10) }} {{ join \"_\" .l }} {{ join \",\" (list 1 .nul 2) }}",
            Ok("[[1 2] [3]] [10 a b] p_q_r 1,2"),
        ),
        (
            "{{ splitList \"$\" \"foo$bar$baz\" }} {{ split \"$\" \"foo$bar\" }} {{ splitn \"$\" 2 \"foo$bar$baz\" }}",
            Ok("[foo bar baz] map[_0:foo _1:bar] map[_0:foo _1:bar$baz]"),
        ),
        ("{{ (split \"/\" .path.path)._1 }}", Ok("guestbook")),
        (
            "{{ first .a }}",
            Err("error calling first: Cannot find first on type string"),
        ),
        ("{{ slice .l 2 1 }}", Err("slice index out of range")),
    ]);
}

#[test]
fn sprig_dicts() {
    check(&[
        (
            "{{ dict \"a\" 1 \"b\" \"two\" }} {{ dict \"odd\" }}",
            Ok("map[a:1 b:two] map[odd:]"),
        ),
        (
            "{{ get .m \"k1\" }}|{{ get .m \"nope\" }}|{{ hasKey .m \"k2\" }}",
            Ok("v1||true"),
        ),
        (
            "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ $_ := unset $d \"a\" }}{{ $d }}",
            Ok("map[b:2]"),
        ),
        (
            "{{ keys .m }} {{ keys .em (dict \"z\" 1 \"a\" 2) }} {{ values (dict \"a\" 1 \"b\" 2) }}",
            Ok("[inner k1 k2 z] [a z] [1 2]"),
        ),
        (
            "{{ pluck \"name\" (index .lm 0) (index .lm 1) (dict) }}",
            Ok("[one two]"),
        ),
        (
            "{{ pick .m \"k1\" \"nope\" }} {{ omit .m \"inner\" \"z\" }}",
            Ok("map[k1:v1] map[k1:v1 k2:2]"),
        ),
        (
            "{{ dig \"inner\" \"deep\" \"none\" .m }} {{ dig \"inner\" \"x\" \"none\" .m }} {{ dig \"k1\" \"x\" \"none\" .m }}",
            Err("interface conversion: interface {} is string"),
        ),
        (
            "{{ dig \"inner\" \"deep\" \"none\" .m }} {{ dig \"inner\" \"x\" \"none\" .m }}",
            Ok("d none"),
        ),
        (
            "{{ merge (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"x\" 2 \"y\" 2)) }}",
            Ok("map[a:1 b:3 n:map[x:1 y:2]]"),
        ),
        (
            "{{ mergeOverwrite (dict \"a\" 1 \"n\" (dict \"x\" 1) \"l\" (list 1)) (dict \"a\" 2 \"n\" (dict \"y\" 2) \"l\" (list 2)) }}",
            Ok("map[a:2 l:[2] n:map[x:1 y:2]]"),
        ),
        (
            "{{ merge (dict \"a\" \"\") (dict \"a\" \"filled\") }}",
            Ok("map[a:filled]"),
        ),
        (
            "{{ $c := deepCopy .m }}{{ $_ := set $c \"k1\" \"changed\" }}{{ .m.k1 }} {{ $c.k1 }}",
            Ok("v1 changed"),
        ),
        (
            "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}",
            Err("a map cannot contain itself"),
        ),
    ]);
}

#[test]
fn sprig_defaults_encodings_and_reflection() {
    check(&[
        (
            "{{ default \"d\" .empty }} {{ default \"d\" .a }} {{ default \"d\" .zero }} {{ default \"d\" .el }} {{ .nope | default \"d\" }}",
            Ok("d x d d d"),
        ),
        (
            "{{ empty .empty }} {{ empty .a }} {{ empty 0 }} {{ coalesce 0 \"\" 2 }} {{ coalesce 0 }}",
            Ok("true false true 2 <no value>"),
        ),
        (
            "{{ all 1 \"a\" }} {{ all 1 0 }} {{ any 0 \"\" 1 }} {{ ternary \"y\" \"n\" true }} {{ ternary \"y\" \"n\" .b }}",
            Ok("true false true y y"),
        ),
        (
            "{{ toJson .m }}",
            Ok(r#"{"inner":{"deep":"d"},"k1":"v1","k2":2,"z":null}"#),
        ),
        (
            "{{ toJson \"<&>\" }} {{ toRawJson \"<&>\" }}",
            Ok(r#""\u003c\u0026\u003e" "<&>""#),
        ),
        (
            "{{ toPrettyJson (dict \"a\" (list 1 2) \"b\" .em) }}",
            Ok("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}"),
        ),
        (
            "{{ (fromJson \"{\\\"a\\\": [1, 2.5]}\").a }} {{ fromJson \"not json\" }}",
            Ok("[1 2.5] <no value>"),
        ),
        (
            "{{ mustFromJson \"not json\" }}",
            Err("error calling mustFromJson"),
        ),
        (
            "{{ b64enc \"hello\" }} {{ b64dec \"aGVsbG8=\" }} {{ b64dec \"!!\" }} {{ b32enc \"hello\" }} {{ b32dec \"NBSWY3DP\" }}",
            Ok("aGVsbG8= hello illegal base64 data at input byte 0 NBSWY3DP hello"),
        ),
        (
            "{{ base \"foo/bar/baz\" }} {{ dir \"foo/bar/baz\" }} {{ clean \"foo//bar/../baz/.\" }} {{ ext \"foo.tar.gz\" }} {{ isAbs \"/x\" }}",
            Ok("baz foo/bar foo/baz .gz true"),
        ),
        (
            "{{ base .path.path }} {{ dir \"x\" }} {{ base \"\" }} {{ base \"/\" }}",
            Ok("guestbook . . /"),
        ),
        (
            "{{ typeOf 1 }} {{ typeOf .n }} {{ typeOf .l }} {{ kindOf .m }} {{ kindIs \"string\" .a }} {{ typeIs \"float64\" .f }} {{ deepEqual .l .l }}",
            Ok("int float64 []interface {} map true true true"),
        ),
        (
            "{{ $u := urlParse \"https://admin:pw@server.example:8443/api/v1?x=1#frag\" }}{{ $u.scheme }} {{ $u.host }} {{ $u.hostname }} {{ $u.path }} {{ $u.query }} {{ $u.fragment }} {{ $u.userinfo }}",
            Ok("https server.example:8443 server.example /api/v1 x=1 frag admin:pw"),
        ),
        (
            "{{ regexMatch \"^[a-z]+@[a-z.]+$\" \"test@acme.com\" }} {{ regexFindAll \"[2,4,6,8]\" \"123456789\" -1 }} {{ regexFind \"[a-zA-Z][1-9]\" \"abcd1234\" }}",
            Ok("true [2 4 6 8] d1"),
        ),
        (
            "{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }} {{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}\" }}",
            Ok("-W-xxW- -${1}-${1}-"),
        ),
        (
            "{{ regexSplit \"z+\" \"pizza\" -1 }} {{ regexSplit \"a*\" \"abaabaccadaaae\" 5 }} {{ regexQuoteMeta \"1.2+3\" }}",
            Ok("[pi a] [ b b c cadaaae] 1\\.2\\+3"),
        ),
        (
            "{{ regexMatch \"(\" \"x\" }}",
            Err("error calling regexMatch: error parsing regexp"),
        ),
        (
            "{{ semverCompare \"^1.2.0\" \"1.2.3\" }} {{ semverCompare \"~1.2.0\" \"1.3.0\" }} {{ semverCompare \">= 1.2, < 2\" \"v1.9\" }} {{ semverCompare \"1.2.x || >=3\" \"3.1.0\" }}",
            Ok("true false true true"),
        ),
        (
            "{{ semverCompare \">=1.0.0\" \"1.2.0-beta\" }} {{ semverCompare \">=1.0.0-0\" \"1.2.0-beta\" }} {{ semverCompare \"1.2 - 1.4\" \"1.4.9\" }} {{ semverCompare \"!=1.2.3\" \"1.2.4\" }}",
            Ok("false true true true"),
        ),
        (
            "{{ $v := semver \"v1.2.3-alpha.1+build\" }}{{ $v }} {{ $v.Major }} {{ $v.Minor }} {{ $v.Patch }} {{ $v.Prerelease }} {{ $v.Metadata }}",
            Ok("1.2.3-alpha.1+build 1 2 3 alpha.1 build"),
        ),
        (
            "{{ semverCompare \"bad constraint!\" \"1.0.0\" }}",
            Err("improper constraint"),
        ),
        (
            "{{ fail \"boom\" }}",
            Err("`{{ fail \"boom\" }}`: error calling fail: boom"),
        ),
    ]);
}

#[test]
fn argo_cd_functions() {
    check(&[
        ("{{ .name | normalize }}", Ok("my-cluster-01.example")),
        ("{{ normalize \"-.Héllo World!.-\" }}", Ok("h-llo-world")),
        (
            "{{ slugify .branch }}",
            Ok("feat-a-really-long-pull-request-name-to-test-argo"),
        ),
        ("{{ slugify 23 .branch }}", Ok("feat-a-really-long-pull")),
        (
            "{{ slugify 23 false .branch }}",
            Ok("feat-a-really-long-pull"),
        ),
        (
            "{{ slugify 25 false .branch }}",
            Ok("feat-a-really-long-pull-r"),
        ),
        ("{{ cat .name | slugify }}", Ok("my-cluster-01-example")),
        (
            "{{ slugify 23 .n }}",
            Err("interface conversion: interface {} is float64, not string"),
        ),
        (
            "{{ toYaml .values }}",
            Ok("image:\n  tag: \"1.2\"\nreplicas: 2"),
        ),
        (
            "{{ toYaml .values | nindent 4 }}",
            Ok("\n    image:\n      tag: \"1.2\"\n    replicas: 2"),
        ),
        ("{{ toYaml .l }}", Ok("- p\n- q\n- r")),
        (
            "{{ toYaml (dict \"s\" \"true\" \"e\" \"\" \"c\" \"a: b\" \"ml\" \"one\\ntwo\\n\" \"n\" .nul \"l\" (list (dict \"k\" 1)) \"em\" .em) }}",
            Ok(
                "c: 'a: b'\ne: \"\"\nem: {}\nl:\n- k: 1\nml: |\n  one\n  two\n\"n\": null\ns: \"true\"",
            ),
        ),
        (
            "{{ toYaml \"plain\" }}|{{ toYaml .nul }}|{{ toYaml 1.5 }}|{{ toYaml .big }}",
            Ok("plain|null|1.5|1000000"),
        ),
        // YAML 1.1, as go-yaml reads it: `y` is true
        ("{{ (fromYaml \"a: 1\\nb: [x, y]\").b }}", Ok("[x true]")),
        ("{{ fromYaml \"\" }}", Ok("map[]")),
        (
            "{{ fromYaml \"- 1\" }}",
            Err("cannot unmarshal array into Go value of type map[string]interface {}"),
        ),
        ("{{ fromYamlArray \"- a\\n- 2\" }}", Ok("[a 2]")),
        ("{{ fromYaml \"a: [\" }}", Err("error calling fromYaml")),
        ("{{ tpl \"{{ .a }}-{{ .nope }}\" . }}", Ok("x-")),
        (
            "{{ define \"x\" }}X{{ end }}{{ tpl \"{{ template \\\"x\\\" }}\" . }}",
            Ok("X"),
        ),
        (
            "{{ tpl \"{{ .a\" . }}",
            Err("error calling tpl: cannot parse template"),
        ),
    ]);
}

/// The examples of Argo CD's ApplicationSet Go template documentation.
#[test]
fn argo_cd_documentation_examples() {
    let d = json!({
        "cluster": "engineering-dev", "url": "https://1.2.3.4",
        "path": {"path": "applicationset/examples/git-generator-directory/cluster-addons/argo-workflows",
                 "basename": "argo-workflows", "basenameNormalized": "argo-workflows",
                 "filename": "config.json", "segments": ["applicationset", "examples", "git-generator-directory"]},
        "metadata": {"labels": {"env": "staging", "my-label": "x"}, "annotations": {"my/annotation": "y"}},
        "name": "In-Cluster_Prod", "env": "prod", "branch": "Feature/TICKET-123_new_thing",
        "values": {"ingress": {"enabled": true, "hosts": ["a.example"]}, "replicas": 3}
    });
    let strict = Options {
        missing_key_error: true,
    };
    check_with(
        &d,
        &strict,
        &[
            ("{{.cluster}}-guestbook", Ok("engineering-dev-guestbook")),
            ("guestbook/{{.cluster}}", Ok("guestbook/engineering-dev")),
            ("{{.path.basename}}", Ok("argo-workflows")),
            (
                "{{.path.path}}",
                Ok("applicationset/examples/git-generator-directory/cluster-addons/argo-workflows"),
            ),
            ("{{base .path.path}}", Ok("argo-workflows")),
            (
                "{{normalize .path.path}}",
                Ok("applicationset-examples-git-generator-directory-cluster-addons-argo-workflows"),
            ),
            ("{{index .path.segments 1}}", Ok("examples")),
            ("{{ index .metadata.labels \"my-label\" }}", Ok("x")),
            (
                "{{ index .metadata.annotations \"my/annotation\" }}",
                Ok("y"),
            ),
            ("{{ .name | normalize }}", Ok("in-cluster-prod")),
            (
                "{{ (index .metadata.labels \"env\") | default \"dev\" }}",
                Ok("staging"),
            ),
            (
                "{{ (index .metadata.labels \"tier\") | default \"dev\" }}",
                Ok("dev"),
            ),
            (
                "{{.cluster}}{{dig \"nameSuffix\" \"\" .}}",
                Ok("engineering-dev"),
            ),
            (
                "{{- if eq .env \"prod\" }}replicas: 3{{- end }}",
                Ok("replicas: 3"),
            ),
            (
                "{{- if eq .env \"dev\" }}replicas: 1{{- else }}replicas: 2{{- end }}",
                Ok("replicas: 2"),
            ),
            (
                "hellos3-{{.cluster}}-{{ cat .branch | slugify 23 }}",
                Ok("hellos3-engineering-dev-feature-ticket-123-new"),
            ),
            (
                "{{ cat .branch | slugify }}",
                Ok("feature-ticket-123-new-thing"),
            ),
            (
                "{{ cat .branch | slugify 50 false }}",
                Ok("feature-ticket-123-new-thing"),
            ),
            (
                "values:\n  {{- toYaml .values | nindent 4 }}",
                Ok(
                    "values:\n    ingress:\n      enabled: true\n      hosts:\n      - a.example\n    replicas: 3",
                ),
            ),
            (
                "{{ .missing }}",
                Err("`{{ .missing }}`: map has no entry for key \"missing\""),
            ),
        ],
    );
}

#[test]
fn refusals_name_the_expression() {
    check(&[
        (
            "{{ env \"HOME\" }}",
            Err(
                "`{{ env \"HOME\" }}`: function `env` is not available in ApplicationSet templates",
            ),
        ),
        (
            "{{ expandenv \"$HOME\" }}",
            Err("function `expandenv` is not available in ApplicationSet templates"),
        ),
        (
            "{{ getHostByName \"x\" }}",
            Err("function `getHostByName` is not available"),
        ),
        // functions resolve when the template parses: a branch never taken still fails
        (
            "{{ if false }}{{ env \"X\" }}{{ end }}",
            Err("`{{ env \"X\" }}`: function `env`"),
        ),
        (
            "{{ now }}",
            Err("`{{ now }}`: function `now` is not supported by kpush: dates depend on the clock"),
        ),
        (
            "{{ date \"2006\" .a }}",
            Err("function `date` is not supported by kpush"),
        ),
        (
            "{{ randAlphaNum 5 }}",
            Err("function `randAlphaNum` is not supported by kpush: its result is random"),
        ),
        (
            "{{ uuidv4 }}",
            Err("function `uuidv4` is not supported by kpush"),
        ),
        (
            "{{ urlJoin .m }}",
            Err("function `urlJoin` is not supported by kpush"),
        ),
        (
            "{{ required \"x\" .a }}",
            Err("function `required` is not defined: it is Helm's"),
        ),
        (
            "{{ .a | xyz }}",
            Err("`{{ .a | xyz }}`: function `xyz` is not defined"),
        ),
        ("{{ .a ", Err("`{{ .a `: unclosed action")),
        ("x {{ .a", Err("`{{ .a`: unclosed action")),
        ("{{ \"abc }}", Err("unterminated quoted string")),
        ("{{ if .a }}x", Err("`{{ if .a }}` has no matching {{end}}")),
        ("{{ end }}", Err("`{{ end }}`: unexpected {{end}}")),
        ("{{ else }}", Err("unexpected {{else}}")),
        ("{{/* open", Err("unclosed comment")),
        (
            "{{ .a | \"x\" }}",
            Err("non executable command in pipeline stage 2"),
        ),
        ("{{ 1 2 }}", Err("can't give argument to non-function 1")),
        ("{{ nil }}", Err("nil is not a command")),
        (
            "{{ .m.k1 \"x\" }}",
            Err("k1 is not a method but has arguments"),
        ),
        (
            "{{ 1i }}",
            Err("complex number 1i is not supported by kpush"),
        ),
        ("{{ \"x\".a }}", Err("unexpected . after term")),
        (
            "{{ substr 0 1 \"é\" }}",
            Err("would split a multi-byte character"),
        ),
    ]);
}

/// A template cannot make a render exhaust memory or the stack.
#[test]
fn limits() {
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(150), ")".repeat(150));
    let ifs = format!("{}{}", "{{ if true }}".repeat(150), "{{ end }}".repeat(150));
    check(&[
        (&parens, Err("nested deeper than kpush allows (100)")),
        (&ifs, Err("nested deeper than kpush allows (100)")),
        (
            "{{ printf \"%1000001d\" 1 }}",
            Err("widths and precisions above 1000000"),
        ),
        (
            "{{ range 2000000 }}{{ end }}",
            Err("kpush iterates at most 1000000 times"),
        ),
        (
            "{{ indent 100000000 \"a\" }}",
            Err("larger than kpush allows"),
        ),
        (
            "{{ repeat 100000000 \"ab\" }}",
            Err("larger than kpush allows"),
        ),
        ("{{ until 2000000 }}", Err("longer than kpush allows")),
    ]);
    // the deepest nesting allowed runs, also on a test thread's small stack
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(99), ")".repeat(99));
    let ifs = format!(
        "{}x{}",
        "{{ if true }}{{ with $ }}".repeat(49),
        "{{ end }}{{ end }}".repeat(49)
    );
    let recursion = "{{ define \"r\" }}{{ if lt (len .) 99 }}{{ template \"r\" (append . 1) }}{{ else }}{{ len . }}{{ end }}{{ end }}{{ template \"r\" (list) }}";
    check(&[(&parens, Ok("1")), (&ifs, Ok("x")), (recursion, Ok("99"))]);
    let big = "{{ $s := repeat 10000000 \"a\" }}{{ range 10 }}{{ $s }}{{ end }}";
    let err = render(big, &data(), &Options::default()).unwrap_err();
    assert!(
        err.contains("the output is larger than kpush allows"),
        "{err}"
    );
}

/// Every function kpush names as implemented must run, not fall through to the refusal.
#[test]
fn every_known_function_is_implemented() {
    for name in sprig::known() {
        let err = render(&format!("{{{{ {name} }}}}"), &data(), &Options::default())
            .err()
            .unwrap_or_default();
        assert!(!err.contains("not supported by kpush"), "{name}: {err}");
    }
}
