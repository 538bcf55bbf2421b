-- SPDX-License-Identifier: Apache-2.0
-- pandoc filter for the man pages: a link keeps its text only (a man page
-- has no anchors, and docs/ paths mean nothing once installed), and
-- section headings are upper case, as man(7) has them.
function Link(el)
  return el.content
end

function Header(el)
  if el.level == 1 then
    return pandoc.walk_block(el, {
      Str = function(s) return pandoc.Str(pandoc.text.upper(s.text)) end
    })
  end
end

-- A wrapped table takes the full text width in pandoc's reckoning, which is
-- a little wider than what man(1) leaves after the page's indent.
function Table(el)
  for i, spec in ipairs(el.colspecs) do
    local w = spec[2]
    if type(w) == 'number' then
      el.colspecs[i] = {spec[1], w * 0.85}
    end
  end
  return el
end
