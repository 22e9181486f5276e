package devicecel

// operator builds the closure of a CEL operator, or returns nil if name is a function.
func (b *builder) operator(name string, args []node) evalFn {
	switch name {
	case "_&&_", "_||_":
		return logical(name == "_||_", args[0].fn, args[1].fn)
	case "!_":
		a := args[0].fn
		return func(e *evalEnv) value {
			v := a(e)
			switch v.k {
			case kBool:
				return boolVal(!v.b())
			case kError:
				return v
			}
			return valNoOverload
		}
	case "-_":
		a := args[0].fn
		return func(e *evalEnv) value {
			e.cost++
			v := a(e)
			if v.k == kError {
				return v
			}
			return negate(v)
		}
	case "_?_:_":
		cond, yes, no := args[0].fn, args[1].fn, args[2].fn
		return func(e *evalEnv) value {
			c := cond(e)
			switch {
			case c.k == kBool && c.b():
				return yes(e)
			case c.k == kBool:
				return no(e)
			case c.k == kError:
				return c
			}
			return valNoOverload
		}
	case "_==_", "_!=_":
		a, c := args[0].fn, args[1].fn
		ne := name == "_!=_"
		return func(e *evalEnv) value {
			e.cost++
			x, y := a(e), c(e)
			if x.k == kError {
				return x
			}
			if y.k == kError {
				return y
			}
			r := e.valuesEqual(x, y)
			if ne {
				// Like upstream: != is true unless the values are equal, even if comparing them failed.
				return boolVal(!r.isTrue())
			}
			return r
		}
	case "_<_", "_<=_", "_>_", "_>=_":
		return ordering(name, args[0].fn, args[1].fn)
	case "_+_":
		return arith(args, add)
	case "_-_":
		return arith(args, func(_ *evalEnv, a, b value) value { return sub(a, b) })
	case "_*_":
		return arith(args, func(_ *evalEnv, a, b value) value { return mul(a, b) })
	case "_/_":
		return arith(args, func(_ *evalEnv, a, b value) value { return div(a, b) })
	case "_%_":
		return arith(args, func(_ *evalEnv, a, b value) value { return mod(a, b) })
	case "_[_]":
		return b.index(args)
	case "@in":
		return in(args[0].fn, args[1].fn)
	}
	return nil
}

// logical implements && (or ||, when or is set) with CEL's commutative error handling: a false
// (true) operand decides the result even if the other one is an error.
func logical(or bool, left, right evalFn) evalFn {
	return func(e *evalEnv) value {
		l := left(e)
		if l.k == kBool && l.b() == or {
			return l
		}
		r := right(e)
		if r.k == kBool && r.b() == or {
			return r
		}
		if l.k == kBool && r.k == kBool {
			return r
		}
		if l.k == kError {
			return l
		}
		if r.k == kError {
			return r
		}
		return valNoOverload
	}
}

func ordering(name string, left, right evalFn) evalFn {
	var want func(int) bool
	switch name {
	case "_<_":
		want = func(c int) bool { return c < 0 }
	case "_<=_":
		want = func(c int) bool { return c <= 0 }
	case "_>_":
		want = func(c int) bool { return c > 0 }
	default:
		want = func(c int) bool { return c >= 0 }
	}
	return func(e *evalEnv) value {
		e.cost++
		c, ev := compare(left(e), right(e))
		if ev.k == kError {
			return ev
		}
		return boolVal(want(c))
	}
}

func arith(args []node, op func(*evalEnv, value, value) value) evalFn {
	left, right := args[0].fn, args[1].fn
	return func(e *evalEnv) value {
		e.cost++
		a, b := left(e), right(e)
		if a.k == kError {
			return a
		}
		if b.k == kError {
			return b
		}
		return op(e, a, b)
	}
}

func in(elem, container evalFn) evalFn {
	return func(e *evalEnv) value {
		e.cost++
		x, c := elem(e), container(e)
		if x.k == kError {
			return x
		}
		switch c.k {
		case kError:
			return c
		case kList:
			l := c.list()
			if !e.charge(uint64(l.size())) {
				return valCost
			}
			// Like upstream: the element is compared with each item; a failed comparison is the
			// result only if no item is equal.
			var failed value
			for i := 0; i < l.size(); i++ {
				r := e.valuesEqual(x, l.at(i))
				if r.isTrue() {
					return valTrue
				}
				if r.k == kError && failed.k != kError {
					failed = r
				}
			}
			if failed.k == kError {
				return failed
			}
			return valFalse
		case kMap:
			return boolVal(e.mapContains(c, x))
		}
		return valNoOverload
	}
}

func (b *builder) index(args []node) evalFn {
	t, k := args[0].fn, args[1].fn
	return func(e *evalEnv) value {
		e.cost++
		c, i := t(e), k(e)
		if c.k == kError {
			return c
		}
		if i.k == kError {
			return i
		}
		switch c.k {
		case kList:
			return listIndex(c.list(), i)
		case kMap:
			if v, ok := e.mapGet(c, i); ok {
				return v
			}
			return noSuchKey(i)
		}
		return valNoOverload
	}
}

// setMembership is x in a constant list of primitive values, which upstream's planner turns
// into a set lookup: an empty list is false whatever x is, and x of another type is simply
// not found (where comparing it with the elements could fail).
func setMembership(elem evalFn, l list) (evalFn, bool) {
	if l.size() == 0 {
		return func(*evalEnv) value { return valFalse }, true
	}
	for i := 0; i < l.size(); i++ {
		switch l.at(i).k {
		case kBool, kInt, kUint, kDouble, kString:
		default:
			return nil, false
		}
	}
	return func(e *evalEnv) value {
		e.cost++
		x := elem(e)
		if x.k == kError {
			return x
		}
		for i := 0; i < l.size(); i++ {
			if eq, _ := keyEqual(l.at(i), x); eq {
				return valTrue
			}
		}
		return valFalse
	}, true
}
