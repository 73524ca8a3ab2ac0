//! Recursive-descent parser from tokens to the [`ast`](crate::ast)
//! (GRAMMAR.md, "Grammar").
//!
//! On a syntax error (E0001) it reports, skips to a point where it can go on
//! (the next row, the end of the block, the next top-level item) and keeps
//! parsing, so one bad row does not hide errors in later rows.

use crate::ast::*;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::ir::{ActionKind, Origin, ParamKind};
use crate::lexer::{is_keyword, Comment, Lexed, Token, TokenKind};
use crate::span::Span;

/// The keywords that start a top-level item.
const ITEM_KEYWORDS: &[&str] = &[
    "machine", "initial", "states", "events", "errors", "actions", "guards", "state",
];

const ORIGINS: &[&str] = &["app", "segment", "timer"];

fn origin_of(word: &str) -> Option<Origin> {
    match word {
        "app" => Some(Origin::App),
        "segment" => Some(Origin::Segment),
        "timer" => Some(Origin::Timer),
        _ => None,
    }
}

/// Parses the lexer's output. Returns the tree of everything that could be
/// parsed and the syntax errors (E0001).
pub fn parse(lexed: &Lexed) -> (File, Vec<Diagnostic>) {
    let mut p = Parser {
        tokens: &lexed.tokens,
        comments: &lexed.comments,
        pos: 0,
        docs: Vec::new(),
        last: Span::default(),
        diags: Vec::new(),
    };
    let file = p.file();
    (file, p.diags)
}

struct Parser<'a> {
    tokens: &'a [Token],
    comments: &'a [Comment],
    pos: usize,
    /// `///` lines seen since the last row or item.
    docs: Vec<String>,
    /// The span of the last token consumed.
    last: Span,
    diags: Vec<Diagnostic>,
}

/// A token standing for the end of input when the token list is empty
/// (the lexer always ends with `Eof`, so this is only a safety net).
static EOF: Token = Token {
    kind: TokenKind::Eof,
    span: Span {
        line: 1,
        col: 1,
        start: 0,
        end: 0,
    },
};

impl<'a> Parser<'a> {
    /// The next significant token; doc comments on the way are collected.
    fn peek(&mut self) -> &'a Token {
        while let Some(Token {
            kind: TokenKind::Doc(d),
            ..
        }) = self.tokens.get(self.pos)
        {
            self.docs.push(d.clone());
            self.pos += 1;
        }
        self.tokens.get(self.pos).unwrap_or(&EOF)
    }

    /// The significant token after the next one.
    fn peek2(&mut self) -> &'a TokenKind {
        self.peek();
        self.tokens[self.pos + 1..]
            .iter()
            .find(|t| !matches!(t.kind, TokenKind::Doc(_)))
            .map_or(&TokenKind::Eof, |t| &t.kind)
    }

    /// Consumes the next token (never moves past `Eof`).
    fn bump(&mut self) -> &'a Token {
        let t = self.peek();
        if t.kind != TokenKind::Eof {
            self.pos += 1;
            self.last = t.span;
        }
        t
    }

    fn at(&mut self, kind: &TokenKind) -> bool {
        &self.peek().kind == kind
    }

    fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new("E0001", span, message));
        let n = self.diags.len();
        &mut self.diags[n - 1]
    }

    fn expected(&mut self, what: &str) -> &mut Diagnostic {
        let t = self.peek();
        self.error(
            t.span,
            format!("expected {what}, found {}", t.kind.describe()),
        )
    }

    /// An identifier that is not a keyword, or an error (nothing consumed).
    fn name(&mut self, what: &str) -> Option<Ident> {
        let t = self.peek();
        match &t.kind {
            TokenKind::Ident(s) if !is_keyword(s) => {
                self.bump();
                Some(Ident {
                    name: s.clone(),
                    span: t.span,
                })
            }
            _ => {
                self.expected(what);
                None
            }
        }
    }

    /// An optional `= "label"`.
    fn label(&mut self) -> Option<StrLit> {
        if !self.at(&TokenKind::Eq) {
            return None;
        }
        self.bump();
        let t = self.peek();
        match &t.kind {
            TokenKind::Str(s) => {
                self.bump();
                Some(StrLit {
                    value: s.clone(),
                    span: t.span,
                })
            }
            _ => {
                self.expected("a string label after `=`");
                None
            }
        }
    }

    fn file(&mut self) -> File {
        let mut file = File::default();
        loop {
            let t = self.peek();
            match &t.kind {
                TokenKind::Eof => break,
                TokenKind::Ident(w) if ITEM_KEYWORDS.contains(&w.as_str()) => {
                    self.docs.clear();
                    if let Some(item) = self.item(w) {
                        file.items.push(item);
                    }
                }
                _ => {
                    let d = self.expected(
                        "an item (`machine`, `initial`, `states`, `events`, `errors`, `actions`, `guards` or `state`)",
                    );
                    if t.kind.is_word("on") {
                        d.notes
                            .push("note: rows must be inside a `state NAME { ... }` block".into());
                    }
                    self.bump();
                    self.recover_top();
                }
            }
        }
        file
    }

    /// Skips to the next top-level keyword (skipping whole `{ ... }` groups).
    fn recover_top(&mut self) {
        let mut depth = 0usize;
        loop {
            let t = self.peek();
            match &t.kind {
                TokenKind::Eof => return,
                TokenKind::Ident(w) if depth == 0 && ITEM_KEYWORDS.contains(&w.as_str()) => return,
                TokenKind::LBrace => depth += 1,
                TokenKind::RBrace => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.bump();
        }
    }

    fn item(&mut self, word: &str) -> Option<Item> {
        let before = self.diags.len();
        let item = self.item_inner(word);
        if item.is_none() && self.diags.len() > before {
            self.recover_top();
        }
        item
    }

    fn item_inner(&mut self, word: &str) -> Option<Item> {
        let keyword = self.bump().span;
        match word {
            "machine" => {
                let name = self.name("a machine name")?;
                Some(Item::Machine { keyword, name })
            }
            "initial" => {
                let name = self.name("the initial state's name")?;
                Some(Item::Initial { keyword, name })
            }
            "states" => {
                let mut decls = Vec::new();
                self.block("states", |p| {
                    let ident = p.name("a state name or `}`")?;
                    let label = p.label();
                    decls.push(LabeledDecl { ident, label });
                    Some(())
                })?;
                Some(Item::States { keyword, decls })
            }
            "events" => {
                let mut groups = Vec::new();
                self.block("events", |p| {
                    let (origin, span) = p.group_keyword(
                        ORIGINS,
                        "an event group (`app`, `segment` or `timer`) or `}`",
                    )?;
                    let origin = origin_of(origin)?;
                    let mut decls = Vec::new();
                    p.block(origin.as_str(), |p| {
                        let ident = p.name("an event name or `}`")?;
                        let label = p.label();
                        decls.push(LabeledDecl { ident, label });
                        Some(())
                    });
                    groups.push(EventGroup {
                        origin,
                        span,
                        decls,
                    });
                    Some(())
                })?;
                Some(Item::Events { keyword, groups })
            }
            "errors" => {
                let mut decls = Vec::new();
                self.block("errors", |p| {
                    decls.push(p.name("an error name or `}`")?);
                    Some(())
                })?;
                Some(Item::Errors { keyword, decls })
            }
            "actions" => {
                let mut groups = Vec::new();
                self.block("actions", |p| {
                    let (word, span) = p.group_keyword(
                        &["local", "packet"],
                        "an action group (`local` or `packet`) or `}`",
                    )?;
                    let kind = if word == "local" {
                        ActionKind::Local
                    } else {
                        ActionKind::Packet
                    };
                    let mut decls = Vec::new();
                    p.block(word, |p| {
                        decls.push(p.action_decl()?);
                        Some(())
                    });
                    groups.push(ActionGroup { kind, span, decls });
                    Some(())
                })?;
                Some(Item::Actions { keyword, groups })
            }
            "guards" => {
                let mut idents = Vec::new();
                self.block("guards", |p| {
                    idents.push(p.name("a guard name or `}`")?);
                    Some(())
                })?;
                let decls = self.guard_docs(idents);
                Some(Item::Guards { keyword, decls })
            }
            "state" => self.state_block(keyword).map(Item::StateBlock),
            _ => None,
        }
    }

    /// `{ element* }`. `element` returns `None` after reporting an error
    /// without consuming; the offending token is then skipped. Returns `None`
    /// (after reporting) when the block has no `{`.
    fn block(
        &mut self,
        what: &str,
        mut element: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        if !self.at(&TokenKind::LBrace) {
            self.expected(&format!("`{{` to open the `{what}` block"));
            return None;
        }
        let open = self.bump().span;
        loop {
            let t = self.peek();
            match &t.kind {
                TokenKind::RBrace => {
                    self.bump();
                    return Some(());
                }
                TokenKind::Eof => {
                    self.error(open, format!("unclosed `{{` of the `{what}` block"))
                        .notes
                        .push("note: the file ends before its `}`".into());
                    return Some(());
                }
                TokenKind::Ident(w) if ITEM_KEYWORDS.contains(&w.as_str()) => {
                    self.error(
                        t.span,
                        format!("expected `}}` to close the `{what}` block, found keyword `{w}`"),
                    );
                    return Some(());
                }
                _ => {
                    let before = self.pos;
                    if element(self).is_none() && self.pos == before {
                        self.bump();
                    }
                }
            }
        }
    }

    /// One of `words` (a group keyword such as `app` or `local`) followed by
    /// `{`. On anything else: an error, with a suggestion for a misspelling.
    fn group_keyword(
        &mut self,
        words: &[&'static str],
        what: &str,
    ) -> Option<(&'static str, Span)> {
        let t = self.peek();
        if let TokenKind::Ident(w) = &t.kind {
            if let Some(word) = words.iter().find(|x| *x == w) {
                self.bump();
                return Some((word, t.span));
            }
            let suggestion = did_you_mean(w, words.iter().copied());
            let d = self.expected(what);
            if let Some(s) = suggestion {
                d.notes.push(format!("help: did you mean `{s}`?"));
            }
            // Skip the whole misnamed group.
            self.bump();
            if self.at(&TokenKind::LBrace) {
                self.skip_group();
            }
            return None;
        }
        self.expected(what);
        None
    }

    /// Skips a balanced `{ ... }` starting at the current `{`.
    fn skip_group(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.bump().kind {
                TokenKind::LBrace => depth += 1,
                TokenKind::RBrace => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                TokenKind::Eof => return,
                _ => {}
            }
        }
    }

    /// `IDENT ('(' ('timer' | 'error') ')')? ('=' STRING)?`
    fn action_decl(&mut self) -> Option<ActionDeclAst> {
        let ident = self.name("an action name or `}`")?;
        let mut param = None;
        if self.at(&TokenKind::LParen) {
            self.bump();
            let t = self.peek();
            match &t.kind {
                TokenKind::Ident(w) if w == "timer" => param = Some(ParamKind::Timer),
                TokenKind::Ident(w) if w == "error" => param = Some(ParamKind::Error),
                _ => {
                    let d = self.expected("a parameter kind (`timer` or `error`)");
                    if let TokenKind::Ident(w) = &t.kind {
                        if let Some(s) = did_you_mean(w, ["timer", "error"]) {
                            d.notes.push(format!("help: did you mean `{s}`?"));
                        }
                    }
                }
            }
            if matches!(t.kind, TokenKind::Ident(_)) {
                self.bump();
            }
            if self.at(&TokenKind::RParen) {
                self.bump();
            } else {
                self.expected("`)`");
            }
        }
        let label = self.label();
        Some(ActionDeclAst {
            ident,
            param,
            label,
        })
    }

    /// Attaches to each guard the `//` comment that follows it on its line
    /// (when it is the last guard on that line).
    fn guard_docs(&self, idents: Vec<Ident>) -> Vec<GuardDeclAst> {
        let lines: Vec<u32> = idents.iter().map(|i| i.span.line).collect();
        idents
            .into_iter()
            .enumerate()
            .map(|(i, ident)| {
                let last_on_line = lines.get(i + 1) != Some(&ident.span.line);
                let doc = if last_on_line {
                    self.comments
                        .iter()
                        .find(|c| c.span.line == ident.span.line && c.span.start > ident.span.end)
                        .map(|c| c.text.clone())
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                GuardDeclAst { ident, doc }
            })
            .collect()
    }

    /// `state (IDENT | '*') '{' row* '}'`, after `state`.
    fn state_block(&mut self, keyword: Span) -> Option<StateBlock> {
        let t = self.peek();
        let selector = match &t.kind {
            TokenKind::Star => {
                self.bump();
                StateSel::Any(t.span)
            }
            _ => StateSel::Named(self.name("a state name or `*` after `state`")?),
        };
        let header = Span {
            end: self.last.end,
            ..keyword
        };
        let mut rows = Vec::new();
        self.docs.clear();
        self.block("state", |p| {
            let t = p.peek();
            if !t.kind.is_word("on") {
                p.expected("a row (`on ...`) or `}`");
                return None;
            }
            if let Some(row) = p.row() {
                rows.push(row);
            }
            Some(())
        })?;
        self.docs.clear();
        Some(StateBlock {
            selector,
            header,
            rows,
        })
    }

    /// Skips the rest of a broken row: up to the next `on`, `}`, or top-level
    /// keyword.
    fn recover_row(&mut self) {
        loop {
            let t = self.peek();
            match &t.kind {
                TokenKind::Eof | TokenKind::RBrace => return,
                TokenKind::Ident(w) if w == "on" || ITEM_KEYWORDS.contains(&w.as_str()) => return,
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// `DOC* 'on' ORIGIN '.' IDENT guards? actions? '->' (IDENT | 'stay' | 'impossible')`,
    /// at `on`. `None` when not even the event could be parsed.
    fn row(&mut self) -> Option<RowAst> {
        let doc = std::mem::take(&mut self.docs);
        let on = self.bump().span;
        // ORIGIN '.'
        let t = self.peek();
        let origin = match &t.kind {
            TokenKind::Ident(w) if origin_of(w).is_some() => {
                self.bump();
                origin_of(w)
            }
            TokenKind::Ident(w) if self.peek2() == &TokenKind::Dot => {
                let suggestion = did_you_mean(w, ORIGINS.iter().copied());
                let d = self.error(
                    t.span,
                    format!("unknown event origin `{w}`: expected `app`, `segment` or `timer`"),
                );
                if let Some(s) = suggestion {
                    d.notes.push(format!("help: did you mean `{s}`?"));
                }
                self.bump();
                None
            }
            _ => {
                self.expected("an event (`app.NAME`, `segment.NAME` or `timer.NAME`)");
                self.recover_row();
                return None;
            }
        };
        if !self.at(&TokenKind::Dot) {
            self.expected("`.` between the event origin and the event name");
            self.recover_row();
            return None;
        }
        self.bump();
        let Some(event) = self.name("an event name") else {
            self.recover_row();
            return None;
        };
        let mut row = RowAst {
            doc,
            on,
            origin,
            event,
            guards: Vec::new(),
            actions: Vec::new(),
            target: None,
            span: on,
            complete: true,
        };
        if self.row_rest(&mut row).is_none() {
            row.complete = false;
            self.recover_row();
        }
        row.span = Span {
            end: self.last.end,
            ..on
        };
        Some(row)
    }

    /// Guards, actions and target; `None` after a syntax error.
    fn row_rest(&mut self, row: &mut RowAst) -> Option<()> {
        if self.at(&TokenKind::LBracket) {
            self.bump();
            loop {
                let start = self.peek().span;
                let negated = self.at(&TokenKind::Bang);
                if negated {
                    self.bump();
                }
                let ident = self.name("a guard name")?;
                row.guards.push(GuardTermAst {
                    negated,
                    span: Span {
                        end: ident.span.end,
                        ..start
                    },
                    ident,
                });
                match self.peek().kind {
                    TokenKind::Comma => {
                        self.bump();
                    }
                    TokenKind::RBracket => {
                        self.bump();
                        break;
                    }
                    _ => {
                        self.expected("`,` or `]` in the guard list");
                        return None;
                    }
                }
            }
        }
        if self.at(&TokenKind::Slash) {
            self.bump();
            loop {
                let ident = self.name("an action name")?;
                let mut span = ident.span;
                let mut arg = None;
                if self.at(&TokenKind::LParen) {
                    self.bump();
                    arg = Some(self.name("an action argument")?);
                    if !self.at(&TokenKind::RParen) {
                        self.expected("`)` after the action argument");
                        return None;
                    }
                    span.end = self.bump().span.end;
                }
                row.actions.push(ActionUse { ident, arg, span });
                if self.at(&TokenKind::Comma) {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        if !self.at(&TokenKind::Arrow) {
            let what = if row.actions.is_empty() {
                "`[`, `/` or `->`"
            } else {
                "`,` or `->` after the actions"
            };
            self.expected(what);
            return None;
        }
        self.bump();
        let t = self.peek();
        match &t.kind {
            TokenKind::Ident(w) if w == "stay" => {
                self.bump();
                row.target = Some(TargetAst::Stay(t.span));
            }
            TokenKind::Ident(w) if w == "impossible" => {
                self.bump();
                row.target = Some(TargetAst::Impossible(t.span));
            }
            _ => {
                let ident = self.name("a target state, `stay` or `impossible` after `->`")?;
                row.target = Some(TargetAst::State(ident));
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex;

    fn parse_text(text: &str) -> (File, Vec<Diagnostic>) {
        parse(&lex(text))
    }

    #[test]
    fn parses_declarations_and_rows() {
        let (file, diags) = parse_text(
            "machine M\ninitial A\nstates { A = \"AA\" B }\n\
             events { app { Go = \"go\" } timer { T } }\n\
             errors { E }\n\
             actions { local { Start(timer) Fail(error) = \"fail\" } packet { P } }\n\
             guards { g // doc of g\n h }\n\
             state A {\n /// RFC 1 §2\n on app.Go [g, !h] / Start(T), P -> B\n}\n\
             state * { on timer.T -> stay }\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(file.items.len(), 9);
        let Item::Guards { decls, .. } = &file.items[6] else {
            panic!("guards")
        };
        assert_eq!(decls[0].doc, "doc of g");
        assert_eq!(decls[1].doc, "");
        let Item::StateBlock(b) = &file.items[7] else {
            panic!("state block")
        };
        let row = &b.rows[0];
        assert_eq!(row.doc, vec!["RFC 1 §2".to_string()]);
        assert_eq!(row.origin, Some(Origin::App));
        assert_eq!(row.guards.len(), 2);
        assert!(row.guards[1].negated);
        assert_eq!(row.actions[0].arg.as_ref().unwrap().name, "T");
        assert!(matches!(&row.target, Some(TargetAst::State(i)) if i.name == "B"));
        assert!(row.complete);
    }

    #[test]
    fn a_bad_row_does_not_hide_later_rows() {
        let (file, diags) = parse_text(
            "state A {\n on app.Go / X Y -> B\n on app.Go2 -> C\n on = -> D\n on app.Go3 -> E\n}\n",
        );
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert_eq!(diags[0].span.line, 2);
        assert_eq!(diags[1].span.line, 4);
        let Item::StateBlock(b) = &file.items[0] else {
            panic!()
        };
        let events: Vec<_> = b.rows.iter().map(|r| r.event.name.as_str()).collect();
        assert_eq!(events, vec!["Go", "Go2", "Go3"]);
        assert!(!b.rows[0].complete);
    }

    #[test]
    fn missing_close_brace_is_reported_and_the_next_item_parsed() {
        let (file, diags) = parse_text("states { A B\nstate A { on app.X -> stay }");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("close the `states` block"));
        assert_eq!(file.items.len(), 2);
    }

    #[test]
    fn misspelt_origin_gets_a_suggestion() {
        let (file, diags) = parse_text("state A { on segmnt.Syn -> stay }");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].notes[0].contains("`segment`"));
        let Item::StateBlock(b) = &file.items[0] else {
            panic!()
        };
        assert_eq!(b.rows[0].origin, None);
    }
}
